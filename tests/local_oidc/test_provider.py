"""The local OpenID Connect provider speaks the protocol a real one does: checked over plain HTTP, no browser."""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from local_oidc import ADMIN, NO_EMAIL, PASSWORD, RunningProvider
from tests.conftest import local_identity_provider

REDIRECT = "http://127.0.0.1:1/oauth2callback"  # never fetched: the test stops at the redirect to it


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningProvider]:
    with local_identity_provider([REDIRECT]) as running:
        yield running


def _authorize(provider: RunningProvider, login: str, password: str, *, redirect_uri: str = REDIRECT,
               ) -> tuple[requests.Response, dict[str, str]]:
    """Walk authorize → sign-in form → consent the way a browser does; the last answer and what was sent."""
    metadata = requests.get(provider.metadata_url, timeout=10).json()
    verifier = secrets.token_urlsafe(48)
    sent = {"response_type": "code", "client_id": provider.client_id, "redirect_uri": redirect_uri,
            "scope": "openid email profile", "prompt": "select_account", "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8), "code_challenge_method": "S256",
            "code_challenge": base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
            .decode()}
    browser = requests.Session()
    answer = browser.get(metadata["authorization_endpoint"], params=sent, allow_redirects=False, timeout=10)
    for _ in range(10):
        if answer.is_redirect:
            location = urljoin(answer.url, answer.headers["location"])
            if location.startswith(redirect_uri):
                break
            answer = browser.get(location, allow_redirects=False, timeout=10)
        elif 'name="password"' in answer.text:
            action = urljoin(answer.url, f"{urlparse(answer.url).path}/login")
            answer = browser.post(action, data={"login": login, "password": password}, allow_redirects=False,
                                  timeout=10)
            if not answer.is_redirect:
                break
        else:
            break
    return answer, {**sent, "code_verifier": verifier, "token_endpoint": metadata["token_endpoint"],
                    "jwks_uri": metadata["jwks_uri"], "issuer": metadata["issuer"]}


def _id_token_claims(provider: RunningProvider, login: str) -> dict:
    answer, sent = _authorize(provider, login, PASSWORD)
    callback = parse_qs(urlparse(answer.headers["location"]).query)
    assert callback["state"] == [sent["state"]]
    tokens = requests.post(sent["token_endpoint"], auth=(provider.client_id, provider.client_secret), timeout=10,
                           data={"grant_type": "authorization_code", "code": callback["code"][0],
                                 "redirect_uri": REDIRECT, "code_verifier": sent["code_verifier"]}).json()
    keys = KeySet.import_key_set(requests.get(sent["jwks_uri"], timeout=10).json())
    token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    assert token.claims["iss"] == sent["issuer"] == provider.issuer
    assert token.claims["aud"] == provider.client_id
    assert token.claims["nonce"] == sent["nonce"]
    return token.claims


def test_discovery_names_every_endpoint_a_relying_party_needs(provider):
    metadata = requests.get(provider.metadata_url, timeout=10).json()
    assert metadata["issuer"] == provider.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint",
                     "end_session_endpoint"):
        assert metadata[endpoint].startswith(provider.issuer + "/")
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert {"openid", "email", "profile"} <= set(metadata["scopes_supported"])


def test_a_sign_in_yields_a_signed_id_token_naming_the_person(provider):
    claims = _id_token_claims(provider, ADMIN.login)
    assert (claims["sub"], claims["email"], claims["email_verified"], claims["name"]) == (
        ADMIN.sub, ADMIN.email, True, ADMIN.name)


def test_an_account_without_email_gets_an_id_token_without_an_email_claim(provider):
    claims = _id_token_claims(provider, NO_EMAIL.login)
    assert claims["name"] == NO_EMAIL.name
    assert "email" not in claims


def test_a_wrong_password_is_refused_on_the_sign_in_page(provider):
    answer, _ = _authorize(provider, ADMIN.login, "not-the-password")
    assert answer.status_code == 401
    assert "Wrong username or password." in answer.text


def test_an_unregistered_redirect_uri_is_refused_before_anyone_signs_in(provider):
    answer, _ = _authorize(provider, ADMIN.login, PASSWORD, redirect_uri="http://127.0.0.1:2/oauth2callback")
    assert answer.status_code == 400
    assert "redirect_uri did not match any of the client's registered redirect_uris" in html.unescape(answer.text)
