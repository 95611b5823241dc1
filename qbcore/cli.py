"""The `qbsync` command line: init, demo, sandbox, sync, estimate, worker, pull, problems."""

from __future__ import annotations

import importlib
import inspect
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from qbcore.alerts.cli import app as alerts_app
from qbcore.cli_support import company_id_of, fail, open_database
from qbcore.companies_cli import app as companies_app
from qbcore.config import ConfigError, load_config
from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.entities.registry import IMPORT_FILES
from qbcore.labels import plural

app = typer.Typer(help="QuickBooks Sync Console: keep a drayage billing book in sync with QuickBooks Online.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(alerts_app, name="alerts")
app.add_typer(companies_app, name="companies")

CompanyOption = Annotated[str | None, typer.Option(help="Only this QuickBooks company (its name or id); default all")]


def _engine() -> Engine:
    try:
        config = load_config()
    except ConfigError as exc:
        fail(str(exc))
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
    companies: Annotated[int, typer.Option(min=1, max=2, help="1, or 2: split between a Carrier and a Brokerage "
                                                              "QuickBooks company")] = 1,
) -> None:
    """Write a realistic, deterministic drayage book into an empty database."""
    from qbcore.demo import BookNotEmptyError, write_demo_book

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of must be YYYY-MM-DD; got {as_of!r}")
    engine = _engine()
    migrate(engine)
    started = time.perf_counter()
    try:
        with transaction(make_session_factory(engine)) as session:
            summary = write_demo_book(session, invoices=invoices, seed=seed, as_of=day, companies=companies)
    except BookNotEmptyError as exc:
        fail(f"{exc}. Point QBSYNC_DATABASE_URL at an empty database.")
    seconds = time.perf_counter() - started
    typer.echo(f"wrote {summary.sentence()} in {seconds:.1f} s")
    if summary.customers_per_company:
        split = ", ".join(f"{plural(n, 'customer')} in {name}" for name, n in summary.customers_per_company.items())
        typer.echo(f"two QuickBooks companies: {split}; each connects to its own sandbox company")


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0 = any free port)")] = 8700,
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    latency_ms: Annotated[int, typer.Option(help="Added latency per request")] = 0,
    quotas: Annotated[str, typer.Option(help="production or off")] = "production",
    fault_rate: Annotated[float, typer.Option(help="Share of writes that get an injected fault")] = 0.0,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault injector")] = 0,
    data: Annotated[Path | None, typer.Option(help="Keep the sandbox's state in this folder")] = None,
    throttle_format: Annotated[str, typer.Option(help="Body of a 429: xml (as QuickBooks sends) or json")] = "xml",
) -> None:
    """Run the local QuickBooks Online sandbox over HTTP."""
    from qbo_sandbox.server import SandboxOptions, serve

    if quotas not in ("production", "off"):
        fail("--quotas must be production or off")
    if not 0.0 <= fault_rate <= 1.0:
        fail("--fault-rate must be between 0 and 1")
    if throttle_format not in ("xml", "json"):
        fail("--throttle-format must be xml or json")
    typer.echo(f"QuickBooks sandbox on http://{host}:{port} (quotas {quotas}, latency {latency_ms} ms)")
    serve(SandboxOptions(host=host, port=port, latency_ms=latency_ms, quotas=quotas, fault_rate=fault_rate,
                         fault_seed=fault_seed, data_dir=str(data) if data else None,
                         throttle_format=throttle_format))

def _entity_types(entity: str):  # type: ignore[no-untyped-def]
    # Imported here, like every heavy module, so `qbsync --help` stays quick.
    from qbcore.entities.registry import ENTITIES

    if entity == "all":
        return None
    # An entity is named on the command line by its plural noun: "invoices", "credit-memos".
    choices = {spec.nouns[1].replace(" ", "-"): spec.entity_type for spec in ENTITIES}
    if entity not in choices:
        fail(f"--entity must be one of {', '.join([*choices, 'all'])}; got {entity!r}")
    return [choices[entity]]


def _parse_ids(ids: str | None) -> list[int] | None:
    if not ids:
        return None
    try:
        return [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        fail(f"--ids must be comma-separated sync record ids; got {ids!r}")
    return None


@app.command()
def sync(
    entity: Annotated[str, typer.Option(help="customers, items, invoices, credit-memos, payments or all")] = "all",
    ids: Annotated[str | None, typer.Option(help="Only these sync record ids, e.g. 1,2,3")] = None,
    wait: Annotated[bool, typer.Option(help="Sync here and wait, with a progress bar (else queue a job)")] = False,
    company: CompanyOption = None,
) -> None:
    """Sync waiting records (and what they depend on) to QuickBooks, or queue a job for the workers."""
    from qbcore.jobs.lease import CompanyBusy, LeaseHolder
    from qbcore.jobs.queue import NothingToSync, enqueue_sync_job
    from qbcore.qbo.tokens import NotConnected
    from qbcore.sync.runner import sync_now

    config, factory = open_database()
    types, record_ids = _entity_types(entity), _parse_ids(ids)
    with factory() as session:
        company_id = company_id_of(session, company)
    if not wait:
        try:
            job_id = enqueue_sync_job(factory, entity_types=types, record_ids=record_ids, company_id=company_id)
        except NothingToSync as exc:
            typer.echo(str(exc))
            return
        typer.echo(f"queued job {job_id}; a worker (`qbsync worker` or the console) will run it")
        return
    with typer.progressbar(length=1, label="Syncing") as bar:
        seen = [0]

        def progress(summary) -> None:  # type: ignore[no-untyped-def]
            bar.length = max(summary.total, 1)
            bar.update(summary.done - seen[0])
            seen[0] = summary.done

        def waiting(holder: LeaseHolder | None, wait_s: float) -> None:
            # Without this the bar sits at 0% for up to a minute with no word of why.
            who = holder.describe() if holder is not None else "another run"
            typer.echo(f"\nwaiting up to {wait_s:.0f} s for the QuickBooks company: {who} is syncing it", err=True)

        try:
            summary = sync_now(factory, config, entity_types=types, record_ids=record_ids, progress=progress,
                               on_wait=waiting, company_id=company_id)
        except (NotConnected, CompanyBusy) as exc:
            fail(str(exc))
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_kind.items())) or "none"
    typer.echo(f"{summary.synced} synced, {summary.failed} failed, {summary.blocked} blocked, {summary.skipped} "
               f"unchanged of {summary.total} in {summary.seconds:.1f} s with {summary.requests} QuickBooks requests; "
               f"problems by kind: {kinds}")
    if summary.paused:
        typer.secho("paused: a QuickBooks company is not connected or needs a reconnect (Settings, or "
                    "`qbsync companies`); run again afterwards", fg=typer.colors.YELLOW)
        raise typer.Exit(code=3)


@app.command()
def estimate() -> None:
    """How long a full sync of the book takes now: its unsent records, the quota-bound minimum, the projection."""
    from qbcore.sync.projection import describe_each_company, project_each_company

    _config, factory = open_database()
    with factory() as session:
        projections = project_each_company(session)
    for line in describe_each_company(projections):
        typer.echo(line)


@app.command()
def worker(
    poll: Annotated[float, typer.Option(help="Seconds between looks at the job queue")] = 1.0,
    once: Annotated[bool, typer.Option(help="Run queued jobs, then exit")] = False,
    schedule: Annotated[bool, typer.Option(help="Also queue automatic work every 20 s (run on one worker)")] = False,
) -> None:
    """Run queued sync jobs until stopped (Ctrl-C); run several for a team (PostgreSQL)."""
    import signal
    import threading

    from qbcore.jobs.lease import default_worker_id
    from qbcore.jobs.worker import run_worker

    config, factory = open_database()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if schedule:
        threading.Thread(target=_schedule_until, args=(factory, config, stop), name="qbsync-schedule",
                         daemon=True).start()
    worker_id = default_worker_id()
    typer.echo(f"worker {worker_id} waiting for jobs (Ctrl-C to stop)")
    try:
        ran = run_worker(factory, config, worker_id=worker_id, stop_event=stop, poll_s=poll, once=once)
    except KeyboardInterrupt:
        stop.set()
        ran = 0
    typer.echo(f"worker stopped after {plural(ran, 'job')}")


def _schedule_until(factory, config, stop) -> None:  # type: ignore[no-untyped-def]
    import logging
    from datetime import timedelta

    from qbcore.alerts.outbox import AlertPace
    from qbcore.jobs.schedule import run_schedule_tick

    pace = AlertPace()
    while not stop.wait(20.0):
        try:
            with transaction(factory) as session:
                run_schedule_tick(session, pull_every=timedelta(seconds=config.pull_every_s), alert_pace=pace)
        # A locked database or a bad row must not stop the worker; the next tick tries again.
        except Exception:
            logging.getLogger(__name__).exception("scheduling failed")


@app.command("schedule")
def schedule_once() -> None:
    """One scheduler tick for cron: cascade retries, new and edited records, and a pull when due."""
    from datetime import timedelta

    from qbcore.jobs.schedule import run_schedule_tick

    config, factory = open_database()
    with transaction(factory) as session:
        jobs = run_schedule_tick(session, pull_every=timedelta(seconds=config.pull_every_s))
        described = [f"#{job.id} {job.kind} ({job.total} records)" for job in jobs]
    typer.echo("queued " + ", ".join(described) if described else "nothing to queue")


@app.command("rotate-key")
def rotate_key() -> None:
    """Re-encrypt stored QuickBooks tokens under the first key of QBSYNC_SECRET_KEY ("new,old")."""
    from qbcore.secrets_box import SecretBox, SecretBoxError, reencrypt_tokens

    config, factory = open_database()
    try:
        with transaction(factory) as session:
            count = reencrypt_tokens(session, SecretBox(config.secret_key))
    except SecretBoxError as exc:
        fail(str(exc))
    typer.echo(f"re-encrypted {plural(count, 'token')}; the old key can now be removed from QBSYNC_SECRET_KEY")


@app.command()
def pull(
    wait: Annotated[bool, typer.Option("--wait/--queue", help="Pull here and wait (default), or queue a job")] = True,
    company: CompanyOption = None,
) -> None:
    """Pull changes from QuickBooks: payments applied there, voids, deletions and edits (resumes from its bookmark)."""
    from qbcore.access import SYSTEM
    from qbcore.company_directory import list_companies
    from qbcore.errors import QboCallError
    from qbcore.pull import enqueue_pull, run_pull
    from qbcore.qbo.tokens import NotConnected, ReconnectRequired

    config, factory = open_database()
    with factory() as session:
        chosen = company_id_of(session, company)
        companies = [(c.id, c.name) for c in list_companies(session) if chosen is None or c.id == chosen]
    several = len(companies) > 1
    if not wait:
        with transaction(factory) as session:
            jobs = [enqueue_pull(session, SYSTEM, reason="qbsync pull --queue", company_id=cid).id
                    for cid, _name in companies]
        typer.echo(f"queued pull {'jobs' if several else 'job'} {', '.join(map(str, jobs))}; a worker will run "
                   f"{'them' if several else 'it'}")
        return
    for company_id, name in companies:
        try:
            summary = run_pull(factory, config, company_id=company_id)
        except (NotConnected, ReconnectRequired) as exc:
            if not several:
                fail(str(exc))
            typer.secho(f"{name}: {exc}", fg=typer.colors.YELLOW, err=True)
            continue
        except QboCallError as exc:
            fail(f"QuickBooks: {exc.error.message} (pages already read are kept; run again to resume)")
        typer.echo(f"{name}: {summary.sentence()}" if several else summary.sentence())


@app.command()
def problems(
    entity: Annotated[str, typer.Option(help="customers, invoices, credit-memos or payments")] = "invoices",
    out: Annotated[Path, typer.Option(help="CSV file to write")] = Path("problems.csv"),
    company: CompanyOption = None,
) -> None:
    """Export the problem list of one entity to a spreadsheet-safe CSV."""
    from qbcore.models import EntityType
    from qbcore.problems.queries import ProblemFilter, export_problems_csv

    _config, factory = open_database()
    types = _entity_types(entity)
    if types is None:
        fail("--entity must name one entity for an export")
        return
    if types[0] is EntityType.ITEM:
        fail("items have no problem list of their own: their problems show on the invoices they block "
              "(use --entity invoices)")
    with factory() as session, out.open("w", newline="", encoding="utf-8") as fh:
        count = export_problems_csv(session, types[0], ProblemFilter(company_id=company_id_of(session, company)), fh)
    typer.echo(f"wrote {plural(count, 'problem record')} to {out}")


def import_book(
    dry_run: Annotated[bool, typer.Option(help="Validate and say what would change; write nothing")] = False,
    company: Annotated[str | None, typer.Option(help="The QuickBooks company new customers go to (name or id); "
                                                     "default: the default company")] = None,
    **files_by_kind: list[Path] | None,
) -> None:
    """Import a book from CSV files (docs/import-layout.md); nothing is written unless every row is valid."""
    import os

    from qbcore.access import Actor
    from qbcore.importer import FileKind
    from qbcore.importer.report import run_cli_import
    from qbcore.models import Role

    given = [(FileKind(f.kind), f.option, files_by_kind.get(f.kind)) for f in IMPORT_FILES]
    for _kind, flag, files in given:
        # Keeping only the last of two files would import half of what was meant without a word.
        if files and len(files) > 1:
            fail(f"{flag} was given {len(files)} times; give each file once (one {flag} per import)")
    paths = {kind: files[0] for kind, _flag, files in given if files}
    engine = _engine()
    migrate(engine)
    user = os.environ.get("USER") or os.environ.get("USERNAME") or "operator"
    actor = Actor(email=f"{user}@qbsync-cli", role=Role.OPERATOR, name="qbsync import")
    factory = make_session_factory(engine)
    with factory() as session:
        company_id = company_id_of(session, company)
    code = run_cli_import(factory, paths, actor, dry_run=dry_run, company_id=company_id)
    if code:
        raise typer.Exit(code=code)


# One --<kind> option per file of a book import, as the entities describe them (--customers … --credit-memos).
import_book.__signature__ = inspect.Signature([  # type: ignore[attr-defined]  # typer reads the signature
    *(inspect.Parameter(f.kind, inspect.Parameter.KEYWORD_ONLY, default=None,
                        annotation=Annotated[list[Path] | None, typer.Option(f.option, help=f"{f.template}: {f.rows}")])
      for f in IMPORT_FILES),
    *(inspect.signature(import_book, eval_str=True).parameters[name].replace(kind=inspect.Parameter.KEYWORD_ONLY)
      for name in ("dry_run", "company")),
])
app.command("import")(import_book)


def _cli_errors() -> Any:
    """The click exceptions typer raises: its own copy of click from typer 0.29, click itself before."""
    try:
        return importlib.import_module("typer._click.exceptions")
    except ImportError:
        return importlib.import_module("click.exceptions")


def _os_error_line(exc: OSError) -> str:
    """An unwritable path or an unusable port as one line a person can act on."""
    where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
    reason = exc.strerror or str(exc)
    return f"{reason.rstrip('.')}{':' if where else ''}{where} — check the path or port and try again"


def main() -> None:
    """Entry point of `qbsync`: bad arguments, unwritable paths and unusable ports end in one plain line, exit 2."""
    errors = _cli_errors()
    try:
        code = app(args=sys.argv[1:], prog_name="qbsync", standalone_mode=False)
    except errors.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else "qbsync --help lists the commands")
        sys.exit(2)
    except errors.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "qbsync"
        typer.secho(f"error: {exc.format_message()} (see {command} --help)", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except errors.ClickException as exc:
        typer.secho(f"error: {exc.format_message()}", fg=typer.colors.RED, err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("stopped", err=True)
        sys.exit(130)
    except (OSError, OverflowError) as exc:
        line = _os_error_line(exc) if isinstance(exc, OSError) else f"{exc} — check the port and try again"
        typer.secho(f"error: {line}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
