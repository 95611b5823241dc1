"""Alembic environment: runs against the engine the caller passes in."""

from alembic import context

from qbcore.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Upgrade using the caller's engine (qbcore.db.migrate), in one transaction."""
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild SQLite tables (copy, drop, rename). With foreign keys on, dropping a
            # table would delete its children (sync attempts cascade); off, the rows stay and are checked below.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the upgrade left rows without their parent: {broken[:5]}")
        connection.commit()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


run_migrations_online()
