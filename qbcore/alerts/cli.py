"""`qbsync alerts`: add channels, send a test, run one alert tick (queue and send), read the history."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import SYSTEM
from qbcore.cli_support import fail, open_database
from qbcore.db import transaction
from qbcore.refusals import Refusal
from qbcore.secrets_box import SecretBox

app = typer.Typer(help="Alerts: channels, a test message, one tick that queues and sends, the history.",
                  no_args_is_help=True, add_completion=False)


def _open() -> tuple[SecretBox, sessionmaker[Session]]:
    config, factory = open_database()
    return SecretBox(config.secret_key), factory


def _channel_id(factory: sessionmaker[Session], name: str) -> int:
    from qbcore.models import AlertChannel

    with factory() as session:
        found = session.scalar(select(AlertChannel.id).where(AlertChannel.name == name))
        names = list(session.scalars(select(AlertChannel.name).order_by(AlertChannel.name)))
    if found is None:
        fail(f"no channel named {name!r}; channels: {', '.join(names) or 'none yet (qbsync alerts add-email)'}")
    return found


@app.command("add-email")
def add_email(
    name: Annotated[str, typer.Argument(help="The channel's name, e.g. 'Finance ops email'")],
    to: Annotated[str, typer.Option(help="Recipients, separated by commas")],
    sender: Annotated[str, typer.Option(help="The From address")],
    host: Annotated[str, typer.Option(help="SMTP server")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="SMTP port (587 STARTTLS, 465 SSL)")] = 587,
    security: Annotated[str, typer.Option(help="starttls, ssl, or none (this machine only)")] = "starttls",
    username: Annotated[str, typer.Option(help="SMTP username; the password is asked for, never an argument")] = "",
    digest: Annotated[bool, typer.Option(help="One daily digest instead of a message per alert")] = False,
) -> None:
    """Add (or replace) an email channel; its password is asked for and stored encrypted."""
    from qbcore.alerts.channels import save_channel
    from qbcore.models import AlertChannel

    box, factory = _open()
    password = typer.prompt("SMTP password", hide_input=True, default="", show_default=False) if username else None
    with factory() as session:
        existing = session.scalar(select(AlertChannel.id).where(AlertChannel.name == name.strip()))
    try:
        with transaction(factory) as session:
            view = save_channel(session, box, SYSTEM, name=name, kind="email", channel_id=existing, digest=digest,
                                settings={"host": host, "port": port, "security": security, "sender": sender,
                                          "recipients": to, "username": username}, secret=password)
    except Refusal as exc:
        fail(exc.why)
    typer.echo(f"channel {view.name!r} sends email to {view.destination} through {host}:{port}")


@app.command("add-webhook")
def add_webhook(
    name: Annotated[str, typer.Argument(help="The channel's name, e.g. 'Ops Slack'")],
    style: Annotated[str, typer.Option(help="slack or teams")] = "slack",
    digest: Annotated[bool, typer.Option(help="One daily digest instead of a message per alert")] = False,
) -> None:
    """Add (or replace) a chat webhook channel; the URL is asked for (it is a secret) and stored encrypted."""
    from qbcore.alerts.channels import save_channel
    from qbcore.models import AlertChannel

    if style not in ("slack", "teams"):
        fail("--style must be slack or teams")
    box, factory = _open()
    url = typer.prompt("Incoming webhook URL", hide_input=True)
    with factory() as session:
        existing = session.scalar(select(AlertChannel.id).where(AlertChannel.name == name.strip()))
    try:
        with transaction(factory) as session:
            view = save_channel(session, box, SYSTEM, name=name, kind=style, settings={}, secret=url,
                                channel_id=existing, digest=digest)
    except Refusal as exc:
        fail(exc.why)
    typer.echo(f"channel {view.name!r} posts to {view.destination}")


@app.command("send-test")
def send_test_command(channel: Annotated[str, typer.Argument(help="The channel's name")]) -> None:
    """Send a test message to one channel now and say what happened."""
    from qbcore.alerts.outbox import send_test

    box, factory = _open()
    result = send_test(factory, box, SYSTEM, _channel_id(factory, channel))
    typer.echo(result.text)
    if not result.ok:
        raise typer.Exit(code=1)


@app.command("tick")
def tick() -> None:
    """Check the rules, queue what changed, and send everything due (a second run sends nothing new)."""
    from qbcore.alerts.outbox import deliver_due, queue_alerts

    box, factory = _open()
    with transaction(factory) as session:
        queued = len(queue_alerts(session))
    report = deliver_due(factory, box)
    for line in report.lines:
        typer.echo(line)
    typer.echo(f"queued {queued}, sent {report.sent}, retrying {report.retrying}, failed {report.failed}"
               + (f", {report.uncertain} left uncertain by a stopped sender" if report.uncertain else ""))


@app.command("history")
def history(limit: Annotated[int, typer.Option(min=1, help="How many, newest first")] = 20) -> None:
    """What was sent, when, to whom, and what failed."""
    from qbcore.alerts.history import list_deliveries

    _box, factory = _open()
    with factory() as session:
        rows = list_deliveries(session, limit=limit)
    if not rows:
        typer.echo("nothing sent yet")
    for row in rows:
        when = (row.sent_at or row.queued_at).strftime("%Y-%m-%d %H:%M UTC")
        error = f" — {row.error}" if row.error else ""
        typer.echo(f"{when}  {row.status:<10} {row.channel} → {row.recipients}: {row.subject}{error}")
