"""Single sign-on through Streamlit's st.login: the `[auth]` checks, the sign-in page, whom a sign-in names."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import parse_qs, urlencode, urlparse

import requests
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from ui.markup import Markdown, md

CALLBACK = "oauth2callback"
MIN_COOKIE_SECRET = 32
DEFAULT_SCOPE = "openid email profile"  # what Streamlit asks for unless client_kwargs says otherwise
DEFAULT_PROMPT = "select_account"
PROVIDER_TIMEOUT_S = 4.0
RANDOM_STRING_COMMAND = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
KEY_FIXES = {
    "redirect_uri": "redirect_uri is this console's address followed by /oauth2callback",
    "cookie_secret": f"cookie_secret is a long random string ({RANDOM_STRING_COMMAND})",
    "client_id": "client_id and client_secret come from the app you registered with your provider",
    "client_secret": "client_id and client_secret come from the app you registered with your provider",
    "server_metadata_url": "server_metadata_url is your provider's …/.well-known/openid-configuration address",
}


class SecretsUnreadable(RuntimeError):
    """The secrets file exists but cannot be parsed."""


@dataclass(frozen=True)
class SignInProblem:
    """Something that stops people signing in, and what to do about it."""

    problem: Markdown
    fix: Markdown
    # False when the check may be wrong (a provider's answer to a request without a user): Sign in stays offered.
    blocking: bool = True


@dataclass(frozen=True)
class Identity:
    """Who the identity provider says signed in."""

    email: str
    name: str | None


def read_auth_section() -> object | None:
    """The `[auth]` secrets as written (any type), or None without one; SecretsUnreadable for a broken file."""
    try:
        if "auth" not in st.secrets:
            return None
        section = st.secrets["auth"]
    except StreamlitSecretNotFoundError as exc:
        if "parsing" in str(exc).lower():
            raise SecretsUnreadable(str(exc)) from None
        return None  # no secrets file at all
    return section.to_dict() if hasattr(section, "to_dict") else section


def effective_redirect_uri(section: Mapping[str, object], port: int) -> str:
    """redirect_uri as Streamlit uses it: `{port}` filled in with the server's port."""
    return str(section.get("redirect_uri", "")).replace("{port}", str(port))


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_redirect_uri(redirect_uri: str, served_at: str | None, base_path: str) -> list[SignInProblem]:
    parsed = urlparse(redirect_uri)
    callback_path = "/" + "/".join(p for p in (base_path.strip("/"), CALLBACK) if p)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return [SignInProblem(md("`redirect_uri` {} is not an absolute http(s) address.", redirect_uri),
                              md("Set it to this console's address followed by {}, e.g. {}.", callback_path,
                                 f"https://console.example.com{callback_path}"))]
    problems = []
    if parsed.path.rstrip("/") != callback_path:
        problems.append(SignInProblem(
            md("`redirect_uri` {} does not end in {}, where Streamlit receives the identity provider's answer.",
               redirect_uri, callback_path),
            md("Use {} and register that same address with your identity provider.",
               f"{parsed.scheme}://{parsed.netloc}{callback_path}")))
    if served_at:
        served = urlparse(served_at)
        if (served.scheme, served.netloc) != (parsed.scheme, parsed.netloc):
            here = f"{served.scheme}://{served.netloc}"
            problems.append(SignInProblem(
                md("`redirect_uri` {} does not match the address this console is open at ({}): after signing in, "
                   "the browser would come back to another address and arrive signed out.", redirect_uri, here),
                md('Set redirect_uri = "{}" in `[auth]` and register exactly that address with your identity '
                   "provider (or open the console at the address the redirect URI names).",
                   f"{here}{callback_path}")))
    return problems


def check_auth_section(
    section: object, *, served_at: str | None, port: int, base_path: str = "",
) -> list[SignInProblem]:
    """What is wrong with an `[auth]` secrets section for the console's default provider (empty when nothing)."""
    if not isinstance(section, Mapping):
        return [SignInProblem(md("`auth` in the secrets file is not a table of settings."),
                              md("Write it as an `[auth]` section with `redirect_uri`, `cookie_secret`, "
                                 "`client_id`, `client_secret` and `server_metadata_url` (see the README's single "
                                 "sign-on recipe)."))]
    problems: list[SignInProblem] = []
    missing = [key for key in KEY_FIXES if not str(section.get(key) or "").strip()]
    named = sorted(k for k, v in section.items() if isinstance(v, Mapping) and k != "client_kwargs")
    if missing:
        hint = "; ".join(dict.fromkeys(KEY_FIXES[key] for key in missing))
        fix = md("Add it: {}.", hint) if len(missing) == 1 else md("Add them: {}.", hint)
        if named:
            fix = md("{} The console signs in with the default provider only, so put these keys directly under "
                     "`[auth]`, not under {}.", fix, f"[auth.{named[0]}]")
        problems.append(SignInProblem(md("`[auth]` in the secrets file is missing {}.", ", ".join(missing)), fix))
    if "redirect_uri" not in missing:
        problems += _check_redirect_uri(effective_redirect_uri(section, port), served_at, base_path)
    cookie_secret = str(section.get("cookie_secret") or "")
    if "cookie_secret" not in missing and len(cookie_secret) < MIN_COOKIE_SECRET:
        problems.append(SignInProblem(
            md("`cookie_secret` is {} characters long; the sign-in cookie it signs needs at least {}.",
               len(cookie_secret), MIN_COOKIE_SECRET),
            md("Use a long random string, e.g. the output of {}.", RANDOM_STRING_COMMAND)))
    metadata_url = str(section.get("server_metadata_url") or "")
    parsed = urlparse(metadata_url)
    if "server_metadata_url" not in missing and (parsed.scheme not in ("http", "https") or not parsed.netloc):
        problems.append(SignInProblem(
            md("`server_metadata_url` {} is not an http(s) address.", metadata_url),
            md("Use your provider's discovery address, e.g. {}.",
               "https://login.example.com/.well-known/openid-configuration")))
    elif parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        problems.append(SignInProblem(
            md("`server_metadata_url` {} uses plain http to another machine.", metadata_url),
            md("Use the provider's https address (plain http is only accepted for a provider on this machine).")))
    client_kwargs = section.get("client_kwargs", {})
    if not isinstance(client_kwargs, Mapping):
        problems.append(SignInProblem(md("`client_kwargs` in `[auth]` is not a table."),
                                      md('Write it as `client_kwargs = {{ scope = "openid email profile" }}` or '
                                         "leave it out.")))
    elif "email" not in str(client_kwargs.get("scope", DEFAULT_SCOPE)).split():
        problems.append(SignInProblem(
            md("`client_kwargs.scope` ({}) does not ask for `email`, and the console knows people by their email "
               "address.", client_kwargs.get("scope")),
            md('Use scope = "{}" (or leave it out).', DEFAULT_SCOPE)))
    tokens = section.get("expose_tokens", [])
    tokens = [tokens] if isinstance(tokens, str) else tokens
    if not isinstance(tokens, list) or set(map(str, tokens)) - {"id", "access"}:
        problems.append(SignInProblem(md("`expose_tokens` ({}) is not valid.", section.get("expose_tokens")),
                                      md('Leave it out (the console needs no tokens), or use "id" / "access".')))
    return problems


def _probe_authorize(metadata: Mapping[str, object], client_id: str, redirect_uri: str, scope: str,
                     prompt: str) -> SignInProblem | None:
    """Ask the authorization endpoint what it would say to this console's sign-in request, without a user."""
    endpoint = str(metadata["authorization_endpoint"])
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
              "state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16)}
    if prompt:
        params["prompt"] = prompt
    if "S256" in (metadata.get("code_challenge_methods_supported") or []):  # type: ignore[operator]
        # As Streamlit does; a provider that demands PKCE would refuse the probe without it.
        digest = hashlib.sha256(secrets.token_urlsafe(32).encode()).digest()
        params["code_challenge"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        params["code_challenge_method"] = "S256"
    joiner = "&" if urlparse(endpoint).query else "?"
    try:
        answer = requests.get(f"{endpoint}{joiner}{urlencode(params)}", allow_redirects=False,
                              timeout=PROVIDER_TIMEOUT_S, headers={"Accept": "text/html,application/json"})
    except requests.RequestException as exc:
        return SignInProblem(md("The provider's sign-in address {} could not be reached ({}).", endpoint,
                                type(exc).__name__),
                             md("Check that this server and your users' browsers can reach it."), blocking=False)
    location = answer.headers.get("location", "")
    if answer.is_redirect and location.startswith(redirect_uri):
        error = parse_qs(urlparse(location).query)
        if "error" in error:
            said = ": ".join(v[0] for v in (error["error"], error.get("error_description", [""])) if v[0])
            return SignInProblem(md("The identity provider refuses this console's sign-in request ({}).", said),
                                 md("Fix the app registration at the provider or `client_kwargs` in `[auth]` so it "
                                    "accepts the scope and prompt the console asks for."), blocking=False)
    if answer.status_code >= 400:
        return SignInProblem(
            md("The identity provider refuses this console's sign-in request (HTTP {}) before anyone signs in. Most "
               "often the redirect URI {} is not registered for client {}, or the client id is wrong.",
               answer.status_code, redirect_uri, client_id),
            md("Register exactly {} as a redirect (sign-in) URI of that app at your identity provider, or correct "
               "`client_id` / `redirect_uri` in `[auth]`.", redirect_uri), blocking=False)
    return None


@st.cache_data(ttl=60, show_spinner="Checking the identity provider…")
def check_provider(metadata_url: str, client_id: str, redirect_uri: str, scope: str,
                   prompt: str) -> list[SignInProblem]:
    """What the identity provider says about this console: discovery document, then the sign-in request."""
    try:
        answer = requests.get(metadata_url, timeout=PROVIDER_TIMEOUT_S, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        return [SignInProblem(
            md("The identity provider at {} could not be reached ({}).", metadata_url, type(exc).__name__),
            md("Check `server_metadata_url` in `[auth]`, that the provider is up, and that this server can reach it "
               "(proxy, firewall, DNS). Sign-in works again as soon as it answers."))]
    try:
        metadata = answer.json() if answer.ok else None
    except ValueError:
        metadata = None
    required = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(metadata, Mapping) or any(not metadata.get(key) for key in required):
        what = (md("answered HTTP {}", answer.status_code) if not answer.ok
                else md("did not send an OpenID Connect discovery document"))
        return [SignInProblem(md("The identity provider at {} {}.", metadata_url, what),
                              md("Set `server_metadata_url` to the provider's …/.well-known/openid-configuration "
                                 "address (its admin console shows it)."))]
    probe = _probe_authorize(metadata, client_id, redirect_uri, scope, prompt)
    return [probe] if probe else []


def check_identity(user: Mapping[str, object]) -> SignInProblem | None:
    """Why a signed-in user's ID token cannot name them in the users table (None when it can)."""
    email = str(user.get("email") or "").strip()
    who = user.get("name") or user.get("preferred_username") or user.get("sub") or "you"
    if "@" not in email:
        return SignInProblem(
            md("You signed in as **{}**, but your identity provider sent no email address, and the console knows "
               "people by their email.", who),
            md("Ask whoever manages your identity provider to include the `email` claim in the ID token for this "
               "app (scopes `openid email profile`), then sign out and in again."))
    if user.get("email_verified") is False:
        return SignInProblem(md("Your identity provider says your email address {} is not verified.", email),
                             md("Verify it with your identity provider, then sign out and in again."))
    return None


def secrets_file_name() -> str:
    """The secrets file the console reads (the first one that exists), as a person would look for it."""
    for name in st.get_option("secrets.files") or ():
        if Path(name).is_file():
            return str(name)
    return ".streamlit/secrets.toml"


def _show_problems(title: Markdown, problems: list[SignInProblem], *, in_secrets: bool = False) -> None:
    body = md("**{}**\n", title)
    for item in problems:
        body = md("{}\n- {}  \n  **What to fix:** {}", body, item.problem, item.fix)
    st.error(body)
    if in_secrets:
        st.caption(md("Changes to {} apply on the next page load.", secrets_file_name()))


def _server_port() -> int:
    return int(st.get_option("server.port"))


def signed_in_identity(*, required: bool) -> Identity | None:
    """The signed-in person; None when single sign-on is not configured. Otherwise the sign-in page, then stop."""
    try:
        section = read_auth_section()
    except SecretsUnreadable as exc:
        st.title("QuickBooks Sync Console")
        _show_problems(md("The console's secrets file cannot be read, so nobody can sign in."),
                       [SignInProblem(md("{}", exc), md("Correct the TOML syntax at the line and column named, then "
                                                        "reload this page."))], in_secrets=True)
        st.stop()
    if section is None and not required:
        return None
    user = st.user
    if section is not None and user.get("is_logged_in", False):
        claims = user.to_dict()
        problem = check_identity(claims)
        if problem is None:
            name = claims.get("name")
            return Identity(email=str(claims["email"]).strip().lower(), name=str(name) if name else None)
        st.title("QuickBooks Sync Console")
        _show_problems(md("You are signed in, but the console cannot tell who you are."), [problem])
        st.button("Sign out", on_click=st.logout, key="sso_logout")
        st.stop()
    st.title("QuickBooks Sync Console")
    if section is None:
        _show_problems(md("Sign-in is required, but single sign-on is not set up."), [SignInProblem(
            md("`QBSYNC_REQUIRE_SIGN_IN` is on, but the secrets file {} has no `[auth]` section (or does not exist: "
               "Streamlit looks for .streamlit/secrets.toml in the folder the console was started from).",
               secrets_file_name()),
            md("Add the `[auth]` section (see the README's single sign-on recipe), or start the console from the "
               "folder holding .streamlit/."))], in_secrets=True)
        st.stop()
    problems = check_auth_section(section, served_at=st.context.url, port=_server_port(),
                                  base_path=str(st.get_option("server.baseUrlPath") or ""))
    if problems:
        _show_problems(md("Single sign-on is not set up correctly, so nobody can sign in yet."), problems,
                       in_secrets=True)
        st.stop()
    assert isinstance(section, Mapping)
    client_kwargs = section.get("client_kwargs") or {}
    redirect_uri = effective_redirect_uri(section, _server_port())
    provider_problems = check_provider(str(section["server_metadata_url"]), str(section["client_id"]), redirect_uri,
                                       str(client_kwargs.get("scope", DEFAULT_SCOPE)),
                                       str(client_kwargs.get("prompt", DEFAULT_PROMPT)))
    if provider_problems:
        _show_problems(md("The identity provider is not ready for this console."), provider_problems)
        st.button("Check again", on_click=check_provider.clear, key="sso_check_again")
    else:
        st.info("Sign in with your company account to use the console.")
    if not any(p.blocking for p in provider_problems):
        st.button("Sign in", on_click=st.login, type="primary", key="sso_login")
    st.caption(md("Signing in goes to {} and comes back to {}.", urlparse(str(section["server_metadata_url"])).netloc,
                  redirect_uri))
    st.stop()


def show_no_access(email: str) -> NoReturn:
    """A signed-in person the users table does not let in: say so, offer sign-out, stop."""
    st.title("QuickBooks Sync Console")
    st.error(md("{} has no access to this console. Ask an admin to add you in Settings → Users.", email))
    st.button("Sign out", on_click=st.logout, key="sso_logout")
    st.stop()
