"""Single sign-on in Chromium through the local OpenID Connect provider: Streamlit's st.login, no injected st.user.

Every console here gets its own provider (local_oidc: oidc-provider on Node.js) on a free loopback port, with
the console's redirect URI registered, and a secrets file whose [auth] section points at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from local_oidc import ADMIN, NO_EMAIL, OPERATOR, PASSWORD, STRANGER, VIEWER, LocalUser, RunningProvider
from qbcore.access import SYSTEM
from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.models import AuditEvent, Job, Role, User
from qbcore.settings import load_settings, settings_to_dict
from qbcore.users import set_user_active
from tests.browser.console_server import demo_database, free_port, require_chromium, serve_console
from tests.conftest import local_identity_provider
from tests.qbcore.problems.problem_data import seed_problems

pytestmark = pytest.mark.browser

WAIT = 30_000  # ms: a console's first page run migrates its database


@dataclass(frozen=True)
class SsoConsole:
    """A console whose [auth] points at a local provider; a session factory on its database."""

    url: str
    provider: RunningProvider
    factory: sessionmaker[Session]


def _toml(tables: Mapping[str, Mapping[str, object]]) -> str:
    def value(v: object) -> str:
        return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }" if isinstance(v, Mapping) \
            else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "".join(f"[{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in table.items()) + "\n"
                   for name, table in tables.items())


@contextmanager
def sso_console(
    data_dir: Path, *, env: Mapping[str, str] | None = None, auth: Mapping[str, object | None] | None = None,
    secrets_text: str | None = None, registered: list[str] | None = None, book: bool = False,
) -> Iterator[SsoConsole]:
    """A console on a free port with its own provider; `auth` changes (None removes a key) the working [auth]."""
    require_chromium()
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/oauth2callback"
    with local_identity_provider(registered or [redirect_uri]) as provider:
        section = {**provider.auth_section(redirect_uri=redirect_uri), **(auth or {})}
        secrets = data_dir / "secrets.toml"
        secrets.write_text(secrets_text if secrets_text is not None
                           else _toml({"auth": {k: v for k, v in section.items() if v is not None}}))
        if book:
            db_url, engine, factory = demo_database(data_dir)
        else:
            db_url = f"sqlite:///{data_dir / 'qbsync.db'}"
            engine = make_engine(db_url)
            migrate(engine)
            factory = make_session_factory(engine)
        try:
            with serve_console({"QBSYNC_DATABASE_URL": db_url, **(env or {})}, data_dir, port=port,
                               secrets_file=secrets) as url:
                yield SsoConsole(url=url, provider=provider, factory=factory)
        finally:
            engine.dispose()


def sign_in(page: Page, console: SsoConsole, user: LocalUser) -> None:
    """Sign in → the provider's own sign-in page → back through /oauth2callback to the console."""
    page.goto(console.url)
    page.get_by_role("button", name="Sign in").click(timeout=WAIT)
    expect(page).to_have_url(re.compile(re.escape(console.provider.issuer) + "/interaction/"), timeout=WAIT)
    page.get_by_label("Username").fill(user.login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile("^" + re.escape(console.url) + "/"), timeout=WAIT)


def shown(text: str) -> re.Pattern[str]:
    """Text as the page shows it: ui.markup puts an invisible word joiner in addresses so they never link."""
    pattern = re.escape(text).replace("@", "\u2060?@").replace("://", ":\u2060?//")
    return re.compile(pattern.replace(r"www\.", "www\u2060?\\."))


def _badge(page: Page, user: LocalUser, role: str):
    return page.get_by_text(f"Signed in as {user.name} · role: {role}")


def _no_traceback(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert "Traceback" not in page.content()


def _new_audit(factory: sessionmaker[Session], after_id: int) -> list[tuple[str, str, str]]:
    with factory() as session:
        return [(e.actor, e.action, e.outcome)
                for e in session.scalars(select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id))]


def _last_audit_id(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.max(AuditEvent.id))) or 0


@pytest.fixture(scope="module")
def team_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoConsole]:
    """A team's console: demo book, unknown users are viewers, the provider's admin is the configured admin."""
    with sso_console(tmp_path_factory.mktemp("sso_team"), book=True,
                     env={"QBSYNC_UNKNOWN_USERS": "viewer", "QBSYNC_ADMIN_EMAILS": ADMIN.email or ""}) as console:
        yield console


@pytest.fixture
def team(team_console: SsoConsole) -> SsoConsole:
    """The team console with its users table reset: Omar is an operator, Vera a viewer; no jobs."""
    with transaction(team_console.factory) as session:
        session.execute(delete(Job))
        session.execute(delete(User))
        session.add_all([User(email=OPERATOR.email, name=OPERATOR.name, role=Role.OPERATOR.value),
                         User(email=VIEWER.email, name=VIEWER.name, role=Role.VIEWER.value)])
    return team_console


def test_signing_in_goes_through_the_provider_and_the_console_shows_the_person_and_role(page: Page, team):
    sign_in(page, team, OPERATOR)
    expect(_badge(page, OPERATOR, "operator")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    _no_traceback(page)


def test_an_operator_resyncs_through_problem_sync_and_the_job_is_theirs(page: Page, team):
    with transaction(team.factory) as session:
        seed_problems(session)
    before = _last_audit_id(team.factory)
    sign_in(page, team, OPERATOR)
    page.goto(f"{team.url}/Problem_Sync")
    page.get_by_role("button", name=re.compile(r"^Resync all [\d,]+ matching$")).click(timeout=WAIT)
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Confirm").click(timeout=WAIT)
    queued = page.get_by_text(re.compile(r"Resync job #\d+ queued for"))
    expect(queued).to_be_visible(timeout=WAIT)
    with team.factory() as session:
        jobs = session.scalars(select(Job)).all()
    assert [(f"Resync job #{job.id} queued", job.created_by) for job in jobs] == [
        (re.match(r"Resync job #\d+ queued", queued.inner_text()).group(), OPERATOR.email)]
    assert (OPERATOR.email, "resync", "ok") in _new_audit(team.factory, before)


def test_an_operator_who_tries_to_change_settings_is_refused_in_qbcore_and_audited(page: Page, team):
    with team.factory() as session:
        settings_before = settings_to_dict(load_settings(session))
    sign_in(page, team, OPERATOR)
    page.goto(f"{team.url}/Settings")
    expect(_badge(page, OPERATOR, "operator")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Save what syncs")).to_be_disabled()
    # Mapping Preview lets anyone try templates; saving one is a settings change that qbcore refuses.
    page.goto(f"{team.url}/Mapping_Preview")
    before = _last_audit_id(team.factory)
    page.get_by_role("button", name="Save description template").click(timeout=WAIT)
    expect(page.get_by_text(re.compile(r"Not saved: Omar Operator \(operator\) may not change settings: it needs "
                                       r"the admin role"))).to_be_visible(timeout=WAIT)
    assert _new_audit(team.factory, before) == [(OPERATOR.email, "change_settings", "refused")]
    with team.factory() as session:
        assert settings_to_dict(load_settings(session)) == settings_before


def test_an_admin_demoted_while_their_page_is_open_can_no_longer_save(page: Page, team):
    with transaction(team.factory) as session:
        session.add(User(email=ADMIN.email, name=ADMIN.name, role=Role.ADMIN.value))
        settings_before = settings_to_dict(load_settings(session))
    sign_in(page, team, ADMIN)
    page.goto(f"{team.url}/Settings")
    save = page.get_by_role("button", name="Save what syncs")
    expect(save).to_be_enabled(timeout=WAIT)
    page.get_by_text("Pause all syncing (master switch)").click()
    with transaction(team.factory) as session:
        session.execute(cast(Table, User.__table__).update().where(User.email == ADMIN.email)
                        .values(role=Role.OPERATOR.value))
    save.click()
    # The click's own page run already knows the new role: the button is disabled, its click discarded.
    expect(_badge(page, ADMIN, "operator")).to_be_visible(timeout=WAIT)
    expect(save).to_be_disabled()
    with team.factory() as session:
        assert settings_to_dict(load_settings(session)) == settings_before


def test_a_stranger_gets_the_unknown_users_policy_viewer(page: Page, team):
    sign_in(page, team, STRANGER)
    expect(_badge(page, STRANGER, "viewer")).to_be_visible(timeout=WAIT)
    page.goto(f"{team.url}/Problem_Sync")
    expect(page.get_by_text("you can look and export, but resync, clear and mark paid need the operator role")) \
        .to_be_visible(timeout=WAIT)
    with team.factory() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.email == STRANGER.email)) == 0


def test_with_deny_a_stranger_has_no_access(page: Page, tmp_path: Path):
    with sso_console(tmp_path, env={"QBSYNC_UNKNOWN_USERS": "deny"}) as console:
        sign_in(page, console, STRANGER)
        expect(page.get_by_text(shown(f"{STRANGER.email} has no access to this console"))).to_be_visible(timeout=WAIT)
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(page.locator('[data-testid="stSidebar"]').get_by_text("Signed in as")).to_have_count(0)
        _no_traceback(page)


def test_the_configured_admin_email_makes_the_first_admin(page: Page, team):
    before = _last_audit_id(team.factory)
    sign_in(page, team, ADMIN)
    expect(_badge(page, ADMIN, "admin")).to_be_visible(timeout=WAIT)
    with team.factory() as session:
        assert session.scalar(select(User.role).where(User.email == ADMIN.email)) == Role.ADMIN.value
    assert _new_audit(team.factory, before) == [(ADMIN.email, "bootstrap_admin", "ok")]


def test_sign_out_ends_the_session_at_the_console_and_the_provider(page: Page, team):
    sign_in(page, team, VIEWER)
    expect(_badge(page, VIEWER, "viewer")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign out")).to_be_visible(timeout=WAIT)  # the provider asks
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(re.compile("^" + re.escape(team.url) + "/"), timeout=WAIT)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT)
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Password")).to_be_visible(timeout=WAIT)  # the provider's session ended too


def test_a_deactivated_user_loses_access_on_the_next_page_run(page: Page, team):
    sign_in(page, team, OPERATOR)
    expect(_badge(page, OPERATOR, "operator")).to_be_visible(timeout=WAIT)
    with transaction(team.factory) as session:
        user_id = session.scalar(select(User.id).where(User.email == OPERATOR.email))
        set_user_active(session, SYSTEM, user_id, False)
    page.get_by_role("link", name="Audit Log").click()
    expect(page.get_by_text(shown(f"{OPERATOR.email} has no access to this console"))).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Signed in as")).to_have_count(0)


def test_a_user_removed_from_the_users_table_falls_back_to_the_unknown_users_policy_at_once(page: Page, team):
    sign_in(page, team, OPERATOR)
    expect(_badge(page, OPERATOR, "operator")).to_be_visible(timeout=WAIT)
    with transaction(team.factory) as session:
        session.execute(delete(User).where(User.email == OPERATOR.email))
    page.get_by_role("link", name="Audit Log").click()
    expect(_badge(page, OPERATOR, "viewer")).to_be_visible(timeout=WAIT)


def test_a_provider_that_sends_no_email_claim_gets_a_message_saying_what_to_fix(page: Page, team):
    before = _last_audit_id(team.factory)
    sign_in(page, team, NO_EMAIL)
    expect(page.get_by_text("You are signed in, but the console cannot tell who you are.")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(f"You signed in as {NO_EMAIL.name}, but your identity provider sent no email address"))\
        .to_be_visible()
    expect(page.get_by_text("include the email claim in the ID token")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    _no_traceback(page)
    with team.factory() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 2
    assert _new_audit(team.factory, before) == []


BAD_CONFIG = {
    "sign-in required but no [auth]": (
        {"secrets_text": '[qbsync]\nunknown_users = "viewer"\n', "env": {"QBSYNC_REQUIRE_SIGN_IN": "on"}},
        ["Sign-in is required, but single sign-on is not set up.", "has no [auth] section"]),
    "secrets file is not TOML": (
        {"secrets_text": '[auth\nredirect_uri = "x"\n'},
        ["The console's secrets file cannot be read", "line 1, column 6", "Correct the TOML syntax"]),
    "[auth] keys under a named provider": (
        {"auth": {"client_id": None, "client_secret": None, "server_metadata_url": None,
                  "okta": {"client_id": "c", "client_secret": "s", "server_metadata_url": "https://x.example/"}}},
        ["is missing client_id, client_secret, server_metadata_url", "not under [auth.okta]"]),
    "no cookie_secret": (
        {"auth": {"cookie_secret": None}},
        ["[auth] in the secrets file is missing cookie_secret", "a long random string"]),
    "unreachable provider": (
        {"auth": {"server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}},
        ["could not be reached", "Check server_metadata_url in [auth]"]),
    "redirect URI for another address": (
        {"auth": {"redirect_uri": "http://localhost:{port}/oauth2callback"}},
        ["does not match the address this console is open at", 'Set redirect_uri = "http://127.0.0.1:']),
    "redirect URI not registered at the provider": (
        {"registered": ["http://127.0.0.1:9/oauth2callback"]},
        ["refuses this console's sign-in request (HTTP 400)", "Register exactly http://127.0.0.1:"]),
}


@pytest.mark.parametrize(("setup", "says"), list(BAD_CONFIG.values()), ids=list(BAD_CONFIG))
def test_bad_configuration_is_a_clear_message_on_the_sign_in_page(page: Page, tmp_path: Path, setup, says):
    with sso_console(tmp_path, **setup) as console:
        page.goto(console.url)
        expect(page.get_by_role("heading", name="QuickBooks Sync Console")).to_be_visible(timeout=WAIT)
        for text in says:
            expect(page.get_by_text(shown(text)).first).to_be_visible(timeout=WAIT)
        expect(page.locator('[data-testid="stMetric"]')).to_have_count(0)  # nothing of the console shows
        _no_traceback(page)
        sign_in_offered = "registered" in setup  # a provider's refusal might be wrong: Sign in stays
        expect(page.get_by_role("button", name="Sign in")).to_have_count(1 if sign_in_offered else 0)


def test_signing_in_anyway_with_an_unregistered_redirect_uri_stops_at_the_providers_refusal(
    page: Page, tmp_path: Path,
):
    with sso_console(tmp_path, registered=["http://127.0.0.1:9/oauth2callback"]) as console:
        page.goto(console.url)
        page.get_by_role("button", name="Sign in").click(timeout=WAIT)
        expect(page.get_by_text("redirect_uri did not match any of the client's registered redirect_uris"))\
            .to_be_visible(timeout=WAIT)
        expect(page.get_by_label("Password")).to_have_count(0)
