"""QBO's per-minute limits exactly: 500 requests per realm counting batch calls, 40 batch calls per realm + app."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from qbo_sandbox.quotas import Quotas
from tests.qbo_sandbox.conftest import Realm

QUERY_BATCH = {"BatchItemRequest": [{"bId": "q", "Query": "select * from Term"}]}
# Only the per-minute limit under test may refuse: the 10-a-second limit would otherwise throttle first.
NO_SECOND_LIMIT = {"realm_second": {"count": 100_000, "window_s": 1}}


def throttled_by_limit(sandbox) -> dict[str, int]:
    return requests.get(f"{sandbox.url}/_sandbox/stats", timeout=5).json()["throttled_by_limit"]


def second_app(realm: Realm, client_id: str) -> requests.Session:
    """A session of another app (client id) connected to the same company."""
    tokens = requests.post(
        f"{realm.sandbox.url}/_sandbox/realms/{realm.id}/tokens", json={"client_id": client_id}, timeout=5
    ).json()
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"})
    return session


def reads(realm: Realm, count: int) -> list[int]:
    def read(_: int) -> int:
        return realm.http.get(f"{realm.base}/term/1", timeout=10).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:  # under the 10-concurrent limit
        return list(pool.map(read, range(count)))


def test_the_501st_request_of_a_minute_is_refused_for_every_app_of_that_company(realm, sandbox, configure):
    configure(quotas="production", reset_quotas=True, quota_limits=NO_SECOND_LIMIT)
    before = throttled_by_limit(sandbox).get("realm_minute", 0)
    assert reads(realm, 500) == [200] * 500
    refused = realm.get("term/1")
    assert refused.status_code == 429 and '<Error code="3001">' in refused.text
    # The 500 are per company, not per app: another app connected to it is refused as well.
    other = second_app(realm, "another-app").get(f"{realm.base}/term/1", timeout=10)
    assert other.status_code == 429
    assert throttled_by_limit(sandbox)["realm_minute"] - before == 2
    # Another company has its own 500.
    assert Realm(sandbox, realm.id[::-1]).get("term/1").status_code == 200


def test_the_41st_batch_call_of_a_minute_is_refused_while_single_requests_go_on(realm, sandbox, configure):
    configure(quotas="production", reset_quotas=True, quota_limits=NO_SECOND_LIMIT)
    before = throttled_by_limit(sandbox).get("batch_app_minute", 0)
    statuses = [realm.post("batch", QUERY_BATCH).status_code for _ in range(41)]
    assert statuses == [200] * 40 + [429]
    assert throttled_by_limit(sandbox)["batch_app_minute"] - before == 1
    assert realm.get("term/1").status_code == 200
    # 40 is per app: a second app still has its own 40 batch calls this minute.
    other = second_app(realm, "batch-app-2")
    assert other.post(f"{realm.base}/batch", json=QUERY_BATCH, timeout=10).status_code == 200


def test_batch_calls_count_towards_the_500_so_40_batches_leave_460_single_requests(realm, sandbox, configure):
    configure(quotas="production", reset_quotas=True, quota_limits=NO_SECOND_LIMIT)
    before = throttled_by_limit(sandbox).get("realm_minute", 0)
    assert [realm.post("batch", QUERY_BATCH).status_code for _ in range(40)] == [200] * 40
    assert reads(realm, 460) == [200] * 460
    assert realm.get("term/1").status_code == 429
    assert throttled_by_limit(sandbox)["realm_minute"] - before == 1
    usage = requests.get(f"{sandbox.url}/_sandbox/realms", timeout=5).json()["realms"]
    quota = next(r["quota"] for r in usage if r["realm_id"] == realm.id)
    assert quota["realm_minute"] == 500 and quota["batch_app_minute"] == 40


def test_120_batch_calls_a_minute_per_company_bind_across_apps():
    clock = [0.0]
    quotas = Quotas(clock=lambda: clock[0])
    quotas.configure(limits=NO_SECOND_LIMIT)
    for app in ("a", "b", "c"):
        for _ in range(40):
            assert quotas.admit("r1", app, is_batch=True) is None
            quotas.release("r1", app)
    assert quotas.admit("r1", "d", is_batch=True) == "batch_realm_minute"
    assert quotas.admit("r1", "d", is_batch=False) is None


def test_the_minute_slides_and_refused_requests_do_not_count():
    clock = [0.0]
    quotas = Quotas(clock=lambda: clock[0])
    quotas.configure(limits=NO_SECOND_LIMIT)
    for step in range(500):
        clock[0] = step * 0.1  # 500 requests over the first 50 s
        assert quotas.admit("r1", "app", is_batch=False) is None
        quotas.release("r1", "app")
    for _ in range(20):
        assert quotas.admit("r1", "app", is_batch=False) == "realm_minute"
    clock[0] = 59.9  # the first request is 59.9 s old: still inside the minute
    assert quotas.admit("r1", "app", is_batch=False) == "realm_minute"
    clock[0] = 60.0  # now it has left the window, and only it: one request more, not the 20 refused
    assert quotas.admit("r1", "app", is_batch=False) is None
    quotas.release("r1", "app")
    assert quotas.admit("r1", "app", is_batch=False) == "realm_minute"


def test_production_limits_are_the_documented_ones():
    described = Quotas().describe()
    assert described["max_concurrent"] == 10
    assert described["limits"] == {
        "realm_minute": {"count": 500, "window_s": 60.0},
        "realm_second": {"count": 10, "window_s": 1.0},
        "batch_app_minute": {"count": 40, "window_s": 60.0},
        "batch_realm_minute": {"count": 120, "window_s": 60.0},
    }


def test_ten_requests_a_second_per_app_slide_and_ten_concurrent_per_app():
    clock = [0.0]
    quotas = Quotas(clock=lambda: clock[0])
    for step in range(10):
        clock[0] = step * 0.09
        assert quotas.admit("r1", "app", is_batch=False) is None
        quotas.release("r1", "app")
    assert quotas.admit("r1", "app", is_batch=False) == "realm_second"
    assert quotas.admit("r1", "other-app", is_batch=False) is None  # per app: another app has its own ten
    quotas.release("r1", "other-app")
    clock[0] = 0.999  # the first is 0.999 s old: still inside the second
    assert quotas.admit("r1", "app", is_batch=False) == "realm_second"
    clock[0] = 1.0
    assert quotas.admit("r1", "app", is_batch=False) is None
    quotas.release("r1", "app")
    # Ten in flight at once and no eleventh, whatever the windows say; an answer frees a place.
    clock[0] = 100.0
    assert [quotas.admit("r1", "app", is_batch=False) for _ in range(11)] == [None] * 10 + ["concurrency"]
    clock[0] = 101.0
    assert quotas.admit("r1", "app", is_batch=False) == "concurrency"  # a new second, but still ten in flight
    quotas.release("r1", "app")
    assert quotas.admit("r1", "app", is_batch=False) is None
