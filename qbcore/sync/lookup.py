"""Looking up before creating: records QuickBooks already has (a lost answer, a manual entry) are re-linked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from qbcore.entities.registry import spec_for
from qbcore.errors import ErrorKind, QboCallError
from qbcore.models import EntityType
from qbcore.qbo.faults import classify_local, docnumber_clash, inactive_reference
from qbcore.sync.run import Run
from qbcore.sync.steps import Send, record_failed, record_synced


def natural_key(entity_type: EntityType, payload: dict[str, Any], *, customer_matching: str = "name"
                ) -> tuple[str, str] | None:
    """The field QuickBooks can find this record by before we create it."""
    return spec_for(entity_type).natural_key(payload, customer_matching)


def _field_text(row: dict[str, Any], field_name: str) -> str:
    """A record's look-up field as comparable text (an email address lives in an object)."""
    value = row.get(field_name, "")
    if isinstance(value, dict):
        value = value.get("Address", "")
    return str(value).strip().lower()


def payload_total(payload: dict[str, Any]) -> Decimal:
    """What QuickBooks will compute as TotalAmt for a sales form or payment."""
    if "TotalAmt" in payload:
        return Decimal(str(payload["TotalAmt"]))
    return sum((Decimal(str(line.get("Amount", 0))) for line in payload.get("Line", [])), Decimal(0))


def link_existing(run: Run, entity_type: EntityType, creates: list[Send]) -> list[Send]:
    """Re-link records QuickBooks already has; return those still to create."""
    matching = run.settings.customer_matching
    if entity_type is EntityType.CUSTOMER and matching == "existing_id":
        # The team links every customer by hand (QuickBooks IDs page); never guess, never create.
        for send in creates:
            record_failed(run.factory, send, classify_local(
                ErrorKind.MAPPING, f"Customer {send.name} has no QuickBooks id and customer matching is set to "
                "'existing id'. Link it on the QuickBooks IDs page, or change the matching rule in Settings.",
                retryable=False), job_id=run.job_id)
            run.tally.add("failed", ErrorKind.MAPPING.value)
        return []
    keyed = [(s, natural_key(entity_type, s.payload, customer_matching=matching)) for s in creates]
    lookups = [(s, key) for s, key in keyed if key is not None]
    if not lookups:
        return creates
    entity = spec_for(entity_type).qbo_object
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    inactive_keys: set[tuple[str, str]] = set()
    # Customers matched by email fall back to their name when they have none: one look-up per field.
    for field_name in dict.fromkeys(key[0] for _, key in lookups):
        values = [key[1] for _, key in lookups if key[0] == field_name]
        try:
            found = run.gateway.query_in(entity, field_name, values)
            inactive = run.gateway.query_in(entity, field_name, values, extra=" AND Active = false") \
                if entity_type is EntityType.ITEM else []
        except QboCallError as exc:
            for send in creates:
                run.fail_send(send, exc.error, exc.request, exc.response)
            return []
        for row in found:
            by_key.setdefault((field_name, _field_text(row, field_name)), []).append(row)
        inactive_keys |= {(field_name, _field_text(row, field_name)) for row in inactive}
    remaining: list[Send] = []
    for send, key in keyed:
        if key is None:
            remaining.append(send)
            continue
        wanted = (key[0], key[1].strip().lower())
        matches = by_key.get(wanted, [])
        if "VendorRef" in send.payload:  # bill numbers are unique per vendor only: another vendor's is not ours
            matches = [m for m in matches if _party(m, "VendorRef") == _party(send.payload, "VendorRef")]
        if entity_type is EntityType.ITEM and not matches and wanted in inactive_keys:
            run.fail_send(send, inactive_reference("item", key[1]))
            continue
        if not matches:
            if entity_type is EntityType.ITEM and not run.settings.create_missing_items:
                record_failed(run.factory, send, classify_local(
                    ErrorKind.MAPPING, f"Charge code {send.name} has no QuickBooks item and creating items is off",
                    retryable=False), job_id=run.job_id)
                run.tally.add("failed", ErrorKind.MAPPING.value)
                continue
            remaining.append(send)
            continue
        _resolve_match(run, entity_type, send, matches)
    return remaining


def _resolve_match(run: Run, entity_type: EntityType, send: Send, matches: list[dict[str, Any]]) -> None:
    spec = spec_for(entity_type)
    if spec.linked_by_name:
        row = matches[0]
        record_synced(run.factory, send, qbo_id=row["Id"], sync_token=row.get("SyncToken"), job_id=run.job_id,
                      outcome="linked")
        run.tally.add("synced")
        return
    party = "VendorRef" if "VendorRef" in send.payload else "CustomerRef"
    ours_customer = _party(send.payload, party)
    ours_total = payload_total(send.payload)
    for row in matches:
        theirs_customer = _party(row, party)
        theirs_total = Decimal(str(row.get("TotalAmt", "0")))
        if theirs_customer == ours_customer and theirs_total == ours_total:
            record_synced(run.factory, send, qbo_id=row["Id"], sync_token=row.get("SyncToken"),
                          job_id=run.job_id, outcome="linked")
            run.tally.add("synced")
            return
    if not spec.sales_form:
        # A reference number is not unique in QuickBooks; a different payment with it is not ours.
        record_failed(run.factory, send, classify_local(
            ErrorKind.DUPLICATE, f"QuickBooks has another {spec.nouns[0]} with reference "
            f"{(natural_key(entity_type, send.payload) or ('', ''))[1]}", retryable=False), job_id=run.job_id)
        run.tally.add("failed", ErrorKind.DUPLICATE.value)
        return
    row = matches[0]
    their_ref = row.get("CustomerRef") or {}
    their_total = Decimal(str(row.get("TotalAmt", "0")))
    theirs = f"customer {their_ref.get('name') or their_ref.get('value')}, total {their_total:.2f}"
    ours = f"customer Id {ours_customer}, total {ours_total:.2f}"
    run.fail_send(send, docnumber_clash(spec.nouns[0], send.payload.get("DocNumber", ""), theirs=theirs,
                                        ours=ours, qbo_id=str(row.get("Id"))))


def _party(row: dict[str, Any], field_name: str) -> str | None:
    """The id a record's CustomerRef or VendorRef points at."""
    value = (row.get(field_name) or {}).get("value")
    return None if value is None else str(value)
