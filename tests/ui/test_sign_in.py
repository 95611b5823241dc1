"""Single sign-on checks: what is wrong with an [auth] section, a provider's answers and an ID token's claims.

The sign-in flow itself runs in Chromium against the local provider (tests/browser/test_sign_in_browser.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_oidc import RunningProvider
from tests.conftest import local_identity_provider
from ui.markup import unescape_markdown
from ui.sign_in import DEFAULT_PROMPT, DEFAULT_SCOPE, check_auth_section, check_identity, check_provider

SERVED_AT = "http://127.0.0.1:8501/"
GOOD = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "c" * 32, "client_id": "console",
        "client_secret": "s3cret", "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}


def _problems(section: object, served_at: str | None = SERVED_AT, base_path: str = "") -> str:
    found = check_auth_section(section, served_at=served_at, port=8501, base_path=base_path)
    return "\n".join(f"{unescape_markdown(p.problem)} | {unescape_markdown(p.fix)}" for p in found)


@pytest.mark.parametrize(
    "section",
    [
        GOOD,
        {**GOOD, "redirect_uri": "http://127.0.0.1:{port}/oauth2callback"},
        {**GOOD, "server_metadata_url": "http://localhost:9400/.well-known/openid-configuration"},
        {**GOOD, "client_kwargs": {"scope": "openid profile email", "prompt": "login"}},
        {**GOOD, "expose_tokens": "id"},
    ],
)
def test_a_usable_auth_section_has_no_problems(section):
    assert _problems(section) == ""


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"cookie_secret": None}, "missing cookie_secret"),
        ({"cookie_secret": "short"}, "`cookie_secret` is 5 characters long"),
        ({"client_id": None, "client_secret": None}, "missing client_id, client_secret"),
        ({"server_metadata_url": None}, ".well-known/openid-configuration"),
        ({"redirect_uri": "console.example.com/oauth2callback"}, "is not an absolute http(s) address"),
        ({"redirect_uri": "http://127.0.0.1:8501/callback"}, "does not end in /oauth2callback"),
        ({"redirect_uri": "http://localhost:8501/oauth2callback"}, 'Set redirect_uri = "http://127.0.0.1:8501/'),
        ({"redirect_uri": "http://127.0.0.1:8502/oauth2callback"}, "does not match the address this console is"),
        ({"server_metadata_url": "login.example.com"}, "is not an http(s) address"),
        ({"server_metadata_url": "http://login.example.com/.well-known/openid-configuration"}, "plain http"),
        ({"client_kwargs": {"scope": "openid profile"}}, "does not ask for `email`"),
        ({"client_kwargs": "openid"}, "`client_kwargs` in `[auth]` is not a table"),
        ({"expose_tokens": ["refresh"]}, "`expose_tokens`"),
    ],
)
def test_each_mistake_in_auth_is_named_with_its_fix(change, says):
    section = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    found = _problems(section)
    assert says in found
    assert found.count("\n") == 0  # one mistake, one problem
    assert "s3cret" not in found and "c" * 32 not in found  # secrets are never shown


def test_keys_under_a_named_provider_are_pointed_back_to_the_default_one():
    section = {"redirect_uri": GOOD["redirect_uri"], "cookie_secret": GOOD["cookie_secret"],
               "okta": {k: GOOD[k] for k in ("client_id", "client_secret", "server_metadata_url")}}
    assert "not under [auth.okta]" in _problems(section)


def test_an_auth_value_that_is_not_a_table_is_a_problem_not_a_crash():
    assert "is not a table of settings" in _problems("okta")


def test_the_callback_path_follows_the_servers_base_path():
    section = {**GOOD, "redirect_uri": "https://ops.example.com/qbsync/oauth2callback"}
    assert _problems(section, served_at="https://ops.example.com/qbsync/", base_path="qbsync") == ""
    assert "does not end in /qbsync/oauth2callback" in _problems(GOOD, served_at=None, base_path="qbsync")


def test_a_value_shown_in_a_message_cannot_become_markup():
    [problem] = check_auth_section({**GOOD, "redirect_uri": "[click](http://evil.example)\n\n# big"},
                                   served_at=SERVED_AT, port=8501)
    assert "\\[click\\](http\\:" in problem.problem  # escaped: no link
    assert "\n" not in problem.problem
    assert "[click](http://evil.example) # big" in unescape_markdown(problem.problem)


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"email": "Ann@Example.com", "email_verified": True, "name": "Ann"}, None),
        ({"email": "ann@example.com"}, None),
        ({"name": "Nico", "sub": "u-1"}, "sent no email address"),
        ({"email": "ann", "name": "Ann"}, "sent no email address"),
        ({"email": "ann@example.com", "email_verified": False}, "is not verified"),
        ({"name": "**Nico** [x](y)"}, "**\\*\\*Nico\\*\\* \\[x\\](y)**"),
    ],
)
def test_an_id_token_must_carry_a_usable_email(claims, says):
    problem = check_identity(claims)
    assert (problem is None) == (says is None)
    if problem is not None:
        assert says in problem.problem


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningProvider]:
    with local_identity_provider([GOOD["redirect_uri"]]) as running:
        yield running


def _provider_problems(metadata_url: str, client_id: str = "qbsync-console",
                       redirect_uri: str = GOOD["redirect_uri"]) -> list:
    check_provider.clear()
    return check_provider(metadata_url, client_id, redirect_uri, DEFAULT_SCOPE, DEFAULT_PROMPT)


def test_a_provider_that_knows_the_console_has_nothing_to_say(provider):
    assert _provider_problems(provider.metadata_url) == []


def test_an_unreachable_provider_blocks_sign_in_and_names_the_address():
    [problem] = _provider_problems("http://127.0.0.1:9/.well-known/openid-configuration")
    assert problem.blocking
    assert "http://127.0.0.1:9/.well-known/openid-configuration could not be reached" in unescape_markdown(
        problem.problem)


def test_an_address_that_is_not_a_discovery_document_blocks_sign_in(provider):
    [problem] = _provider_problems(f"{provider.issuer}/no-such-document")
    assert problem.blocking
    assert "answered HTTP 404" in problem.problem


@pytest.mark.parametrize(
    ("client_id", "redirect_uri"),
    [("qbsync-console", "http://127.0.0.1:8599/oauth2callback"), ("someone-else", GOOD["redirect_uri"])],
)
def test_a_provider_that_refuses_the_sign_in_request_says_which_redirect_uri_to_register(
    provider, client_id, redirect_uri,
):
    [problem] = _provider_problems(provider.metadata_url, client_id, redirect_uri)
    assert not problem.blocking  # the probe might be wrong about a provider: Sign in stays offered
    assert "(HTTP 400)" in problem.problem
    assert f"Register exactly {redirect_uri} as a redirect" in unescape_markdown(problem.fix)
