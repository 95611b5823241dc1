"""What every `qbsync` command module shares: one plain error line with exit 2, and the migrated database."""

from __future__ import annotations

from typing import NoReturn

import typer
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config, ConfigError, load_config
from qbcore.db import make_engine, make_session_factory, migrate


def fail(message: str) -> NoReturn:
    """Say what is wrong in one line on stderr and end the command with exit code 2."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def open_database() -> tuple[Config, sessionmaker[Session]]:
    """The configuration and a session factory on the database, upgraded to the current schema."""
    try:
        config = load_config()
    except ConfigError as exc:
        fail(str(exc))
    engine = make_engine(config.database_url)
    migrate(engine)
    return config, make_session_factory(engine)


def company_id_of(session: Session, name_or_id: str | None) -> int | None:
    """The company a `--company` option names (by id or name), None when not given; a plain error when unknown."""
    from qbcore.company_directory import CompanyRefused, company_named

    if name_or_id is None:
        return None
    try:
        return company_named(session, name_or_id).id
    except CompanyRefused as exc:
        fail(str(exc))
