"""`qbsync companies`: each QuickBooks company with its realm and connection health; adding one."""

from __future__ import annotations

from typing import Annotated

import typer

from qbcore.access import LOCAL_ADMIN
from qbcore.cli_support import fail, open_database
from qbcore.companies import CompanyRefused, add_company, list_companies
from qbcore.connection import get_connection_state
from qbcore.labels import plural
from qbcore.models import ConnectionStatus
from qbcore.queries.health import count_waiting

app = typer.Typer(help="QuickBooks companies: list them with their connection health, or add one.",
                  no_args_is_help=False, invoke_without_command=True)

HEALTH = {
    ConnectionStatus.CONNECTED: "connected",
    ConnectionStatus.RECONNECT_REQUIRED: "needs a reconnect",
    ConnectionStatus.DISCONNECTED: "not connected",
}


@app.callback()
def show(ctx: typer.Context) -> None:
    """List every company: id, name, realm id, connection health, roles and records waiting (as Home counts them)."""
    if ctx.invoked_subcommand is not None:
        return
    _config, factory = open_database()
    with factory() as session:
        for company in list_companies(session):
            state = get_connection_state(session, company.id)
            roles = [label for flag, label in ((company.is_default, "default for new customers"),
                                               (company.driver_pay, "driver pay"),
                                               (company.carrier_pay, "carrier pay")) if flag]
            realm = f"realm {state.realm_id}" if state.realm_id else "no realm yet"
            typer.echo(f"{company.id}  {company.name}  {realm}  {HEALTH[state.status]}"
                       f"{'  (' + ', '.join(roles) + ')' if roles else ''}"
                       f"  {plural(count_waiting(session, company.id), 'record')} waiting")


@app.command("add")
def add(name: Annotated[str, typer.Argument(help="How the console names it: Carrier, Brokerage, …")]) -> None:
    """Add a QuickBooks company; connect it in Settings (or, in local mode, the next sync connects the sandbox)."""
    _config, factory = open_database()
    try:
        with factory() as session, session.begin():
            company = add_company(session, LOCAL_ADMIN, name)
            typer.echo(f"added company {company.id} ({company.name}); connect it in Settings")
    except CompanyRefused as exc:
        fail(exc.why)
