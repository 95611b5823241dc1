"""Measure the requests per second the QBO sandbox sustains with quotas off (server in its own process)."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
import uuid

import requests

REALM = "9341455130166501"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_sandbox/health", timeout=1).ok:
                return
        except requests.exceptions.ConnectionError:
            time.sleep(0.1)
    raise SystemExit("sandbox did not start")


def worker(
    base: str, token: str, stop: threading.Event, counts: list[int], errors: list[int], index: int
) -> None:
    session = requests.Session()
    session.trust_env = False  # skips re-reading proxy settings per request, which costs the client ~1 ms
    session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
    params = {"minorversion": "75"}
    n = 0
    while not stop.is_set():
        n += 1
        kind = n % 4
        if kind == 0:  # one write in four: a customer create
            body = {"DisplayName": f"Bench {index}-{n}-{uuid.uuid4().hex[:6]}"}
            response = session.post(f"{base}/customer", json=body, params=params, timeout=10)
        elif kind == 1:
            response = session.get(
                f"{base}/query",
                timeout=10,
                params={**params, "query": "SELECT * FROM Item WHERE Active = true"},
            )
        else:
            response = session.get(f"{base}/customer/1", params=params, timeout=10)
        if response.status_code == 200:
            counts[index] += 1
        else:
            errors[index] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "qbo_sandbox", "--port", str(port), "--quotas", "off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(url)
        token = requests.post(f"{url}/_sandbox/realms/{REALM}/tokens", timeout=5).json()["access_token"]
        base = f"{url}/v3/company/{REALM}"
        stop = threading.Event()
        counts, errors = [0] * args.threads, [0] * args.threads
        threads = [
            threading.Thread(target=worker, args=(base, token, stop, counts, errors, i))
            for i in range(args.threads)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        total = sum(counts)
        print(
            f"{total} OK requests ({sum(errors)} errors) in {elapsed:.1f} s with {args.threads} threads: "
            f"{total / elapsed:.0f} requests/s (quotas off; 1 create : 1 query : 2 reads)"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
