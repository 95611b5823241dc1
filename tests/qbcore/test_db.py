"""Migrations: create or upgrade any database, harmless twice, and in step with the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from qbcore.db import current_revision, head_revision, migrate
from qbcore.models import Base


def test_a_migrated_database_is_at_head_and_a_second_run_changes_nothing(engine):
    assert current_revision(engine) == head_revision()
    assert migrate(engine) == []
    assert current_revision(engine) == head_revision()


def test_the_migrations_build_exactly_the_tables_the_models_declare(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # SQLite and PostgreSQL both: no table, column, index or constraint missing or extra.
    assert diff == []


def test_the_problem_list_indexes_exist(engine):
    names = {ix["name"] for ix in inspect(engine).get_indexes("sync_records")}
    assert {"ix_sync_records_type_status", "ix_sync_records_type_kind", "ix_sync_records_qbo_id"} <= names
