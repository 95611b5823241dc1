"""The unmodified intuit-oauth AuthClient against the sandbox's OAuth server."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks.exceptions import AuthorizationException
from quickbooks.objects.customer import Customer

from tests.qbo_sandbox.conftest import REDIRECT


def authorize(realm, auth) -> dict:
    """Walk the consent page like a browser and return the redirect's query parameters."""
    url = auth.get_authorization_url([Scopes.ACCOUNTING])
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "Connect" in page.text and "Sandbox Company_US_1" in page.text
    query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    answer = requests.post(
        url.split("?")[0], data={**query, "realmId": realm.id}, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def test_discovery_document_points_every_endpoint_at_the_sandbox(realm, sandbox):
    doc = requests.get(f"{sandbox.url}/.well-known/openid_sandbox_configuration", timeout=5).json()
    for key in (
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "revocation_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ):
        assert doc[key].startswith(sandbox.url), key


def test_authorization_code_flow_yields_tokens_that_open_the_api(realm):
    auth = realm.auth_client()
    redirect = authorize(realm, auth)
    assert redirect["state"] == auth.state_token and redirect["realmId"] == realm.id
    auth.get_bearer_token(redirect["code"], realm_id=redirect["realmId"])
    assert auth.access_token and auth.refresh_token and auth.expires_in == 3600
    assert auth.x_refresh_token_expires_in == 8726400
    realm.tokens = {"access_token": auth.access_token, "refresh_token": auth.refresh_token}
    assert Customer.get("1", qb=realm.qb()).DisplayName == "Amy's Bird Sanctuary"


def test_authorization_codes_are_single_use(realm):
    auth = realm.auth_client()
    code = authorize(realm, auth)["code"]
    auth.get_bearer_token(code, realm_id=realm.id)
    with pytest.raises(AuthClientError) as caught:
        auth.get_bearer_token(code, realm_id=realm.id)
    assert caught.value.status_code == 400 and b"invalid_grant" in caught.value.content


def test_refresh_rotates_and_a_reused_refresh_token_is_invalid_grant(realm):
    auth = realm.auth_client(refresh_token=realm.tokens["refresh_token"], realm_id=realm.id)
    first = auth.refresh_token
    auth.refresh()
    assert auth.refresh_token != first and auth.access_token != realm.tokens["access_token"]
    with pytest.raises(AuthClientError) as caught:
        auth.refresh(refresh_token=first)
    assert caught.value.status_code == 400 and b"invalid_grant" in caught.value.content
    auth.refresh()  # the newest token still works


def test_revoked_refresh_token_can_no_longer_refresh(realm):
    auth = realm.auth_client(refresh_token=realm.tokens["refresh_token"], realm_id=realm.id)
    assert auth.revoke(token=auth.refresh_token)
    with pytest.raises(AuthClientError):
        auth.refresh()


def test_expired_access_token_is_401_and_a_refresh_recovers(realm, sandbox):
    qb = realm.qb()
    requests.post(f"{sandbox.url}/_sandbox/tokens/expire", timeout=5)
    with pytest.raises(AuthorizationException) as caught:
        Customer.get("1", qb=qb)
    assert caught.value.error_code == 401
    qb.auth_client.refresh()
    qb.auth_client.access_token = None  # let the client refresh at construction, as python-quickbooks does
    realm.tokens = {"access_token": None, "refresh_token": qb.auth_client.refresh_token}
    assert Customer.get("1", qb=realm.qb()).Id == "1"


def test_short_access_token_lifetime_expires_by_itself(realm, sandbox, configure):
    configure(access_token_ttl_s=1)
    tokens = requests.post(f"{sandbox.url}/_sandbox/realms/{realm.id}/tokens", timeout=5).json()
    assert tokens["expires_in"] == 1
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    assert requests.get(f"{realm.base}/customer/1", headers=headers, timeout=5).status_code == 200
    time.sleep(1.1)
    assert requests.get(f"{realm.base}/customer/1", headers=headers, timeout=5).status_code == 401


def test_token_for_another_company_is_refused_with_403(realm):
    response = requests.get(
        f"{realm.sandbox.url}/v3/company/123/customer/1", headers=realm.http.headers, timeout=5
    )
    assert response.status_code == 403
    assert response.json()["Fault"]["Error"][0]["code"] == "3100"


@pytest.mark.parametrize(("shape", "marker"), [("json", '"Fault"'), ("xml", '<Error code="3200">')])
def test_401_bodies_can_take_the_other_shapes_qbo_has_used(realm, configure, shape, marker):
    configure(auth_fault_format=shape)
    response = requests.get(f"{realm.base}/customer/1", headers={"Authorization": "Bearer nope"}, timeout=5)
    configure(auth_fault_format="gateway")
    assert response.status_code == 401 and marker in response.text
