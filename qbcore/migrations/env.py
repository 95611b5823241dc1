"""Alembic environment: runs against the engine the caller passes in."""

from alembic import context

from qbcore.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Upgrade using the caller's engine (qbcore.db.migrate), in one transaction."""
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
