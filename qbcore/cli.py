"""The `qbsync` command line: init, demo, sandbox (and, as they arrive, sync, worker, problems)."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from qbcore.config import ConfigError, load_config
from qbcore.db import make_engine, make_session_factory, migrate, transaction

app = typer.Typer(help="QuickBooks Sync Console: keep a drayage billing book in sync with QuickBooks Online.",
                  no_args_is_help=True, add_completion=False)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _engine():  # type: ignore[no-untyped-def]
    try:
        config = load_config()
    except ConfigError as exc:
        _fail(str(exc))
    return make_engine(config.database_url)


@app.command()
def init() -> None:
    """Create or upgrade the database to the newest schema (harmless when run twice)."""
    applied = migrate(_engine())
    typer.echo(f"applied {', '.join(applied)}" if applied else "database already up to date")


@app.command()
def demo(
    invoices: Annotated[int, typer.Option(min=0, help="How many invoices to write")] = 2000,
    seed: Annotated[int, typer.Option(help="Same seed, same book")] = 7,
    as_of: Annotated[str | None, typer.Option(help="The book's last day (YYYY-MM-DD); default today")] = None,
) -> None:
    """Write a realistic, deterministic drayage book into an empty database."""
    from qbcore.demo import BookNotEmptyError, write_demo_book

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        _fail(f"--as-of must be YYYY-MM-DD; got {as_of!r}")
    engine = _engine()
    migrate(engine)
    started = time.perf_counter()
    try:
        with transaction(make_session_factory(engine)) as session:
            summary = write_demo_book(session, invoices=invoices, seed=seed, as_of=day)
    except BookNotEmptyError as exc:
        _fail(f"{exc}. Point QBSYNC_DATABASE_URL at an empty database.")
    seconds = time.perf_counter() - started
    typer.echo(
        f"wrote {summary.invoices} invoices ({summary.charge_lines} charge lines, {summary.loads} loads), "
        f"{summary.customers} customers, {summary.charge_codes} charge codes, {summary.payments} payments, "
        f"{summary.credit_memos} credit memos in {seconds:.1f} s"
    )


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port)")] = 8700,
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    latency_ms: Annotated[int, typer.Option(help="Added latency per request")] = 0,
    quotas: Annotated[str, typer.Option(help="production or off")] = "production",
    fault_rate: Annotated[float, typer.Option(help="Share of writes that get an injected fault")] = 0.0,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault injector")] = 0,
    data: Annotated[Path | None, typer.Option(help="Keep the sandbox's state in this folder")] = None,
) -> None:
    """Run the local QuickBooks Online sandbox over HTTP."""
    from qbo_sandbox.server import SandboxOptions, serve

    if quotas not in ("production", "off"):
        _fail("--quotas must be production or off")
    if not 0.0 <= fault_rate <= 1.0:
        _fail("--fault-rate must be between 0 and 1")
    typer.echo(f"QuickBooks sandbox on http://{host}:{port} (quotas {quotas}, latency {latency_ms} ms)")
    serve(SandboxOptions(host=host, port=port, latency_ms=latency_ms, quotas=quotas, fault_rate=fault_rate,
                         fault_seed=fault_seed, data_dir=str(data) if data else None))


def main() -> None:
    """Entry point for `python -m qbcore.cli`."""
    app(args=sys.argv[1:])


if __name__ == "__main__":
    main()
