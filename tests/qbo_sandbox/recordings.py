"""Reading the recorded QBO exchanges in tests/fixtures/qbo-recordings (real Intuit sandbox traffic)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "qbo-recordings"
SERVER_KEYS = {"Id", "SyncToken", "MetaData", "domain", "sparse"}


@dataclass
class Exchange:
    """One recorded request and its answer; JSON bodies parsed, headers with their recorded case."""

    method: str
    uri: str
    request: Any
    status: int
    response: Any
    headers: dict[str, str]
    request_headers: dict[str, str]
    raw_request: str

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def recorded(name: str) -> list[Exchange]:
    """The interactions of one recording (a missing file fails the test: the fixtures are in the repo)."""
    data = yaml.safe_load((RECORDINGS / name).read_text())
    out = []
    for interaction in data["http_interactions"]:
        req, resp = interaction["request"], interaction["response"]
        body = req["body"].get("string") or ""
        out.append(
            Exchange(
                method=req["method"].upper(),
                uri=req["uri"],
                request=_maybe_json(body),
                status=resp["status"]["code"],
                response=_maybe_json(resp["body"].get("string")),
                headers={k: v[0] for k, v in resp["headers"].items()},
                request_headers={k: v[0] for k, v in req["headers"].items()},
                raw_request=body,
            )
        )
    return out


def _maybe_json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def assert_same_fault(ours: dict, theirs: dict) -> None:
    """Same code, message and fault type (details may carry ids, so they are compared where they don't)."""
    assert set(ours) >= {"Fault"} and set(theirs) >= {"Fault"}
    mine, real = ours["Fault"]["Error"][0], theirs["Fault"]["Error"][0]
    assert mine["code"] == real["code"] and isinstance(mine["code"], str)
    assert mine["Message"] == real["Message"]
    assert ours["Fault"]["type"] == theirs["Fault"]["type"]


def assert_entity_shape(ours: dict, theirs: dict, data_dependent: set[str] | frozenset[str] = frozenset()) -> None:
    """Every key QBO returned is returned by us too (except ones that only exist for their data)."""
    missing = set(theirs) - set(ours) - set(data_dependent)
    assert not missing, f"keys QBO returns that we do not: {sorted(missing)}"
    assert set(ours) >= SERVER_KEYS
    assert isinstance(ours["Id"], str) and isinstance(ours["SyncToken"], str)


def content_type(response_headers: Any) -> str:
    return str(response_headers.get("content-type", ""))
