"""Request ids: derived from record + payload version, so a retry of the same payload replays, never duplicates."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from qbcore.entities.registry import ENTITIES

ENTITY_CODES = {spec.entity_type.value: spec.request_code for spec in ENTITIES}
BATCH_ID_MAX = 36
REQUEST_ID_MAX = 50


def _op(update: bool, delete: bool) -> str:
    return "d" if delete else "u" if update else "c"


def make_request_id(entity_type: str, entity_id: int, payload_hash: str, generation: int, *,
                    update: bool = False, delete: bool = False) -> str:
    """e.g. 'qbs-inv-1042-3fa9c2e1b7d0-c2' (≤ 50 characters; u: an update, d: a delete)."""
    op = _op(update, delete)
    code = ENTITY_CODES.get(entity_type, entity_type[:3])
    request_id = f"qbs-{code}-{entity_id}-{payload_hash[:12]}-{op}{generation}"
    return request_id[:REQUEST_ID_MAX]


def is_current(request_id: str | None, payload_hash: str, *, update: bool = False, delete: bool = False) -> bool:
    """True when a stored request id was made for this payload version and operation."""
    if not request_id:
        return False
    parts = request_id.split("-")
    return len(parts) >= 5 and parts[-2] == payload_hash[:12] and parts[-1].startswith(_op(update, delete))


def batch_request_id(request_ids: Iterable[str]) -> str:
    """The batch's own requestid (≤ 36): the same records with the same payloads give the same id."""
    digest = hashlib.sha256("|".join(sorted(request_ids)).encode()).hexdigest()
    return f"qbsb-{digest[:BATCH_ID_MAX - 5]}"


def batch_item_id(record_id: int) -> str:
    """A bId of ≤ 10 characters (the limit when the batch carries a requestid): the record id in base 36."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    value, out = record_id, ""
    while True:
        value, rem = divmod(value, 36)
        out = digits[rem] + out
        if value == 0:
            return out
