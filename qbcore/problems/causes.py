"""Root causes in plain language: what blocks a group of problems, how to fix it, and where."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from qbcore.entities.registry import ENTITIES
from qbcore.errors import ErrorKind
from qbcore.models import EntityType
from qbcore.qbo.faults import HTTP_RULES, LOCAL_RULES, rule_for_code

SETTINGS_PAGE = "pages/1_Settings.py"
QBO_IDS_PAGE = "pages/2_QuickBooks_IDs.py"

_NOUNS = {spec.entity_type: spec.problem_nouns for spec in ENTITIES}
PAY_CODES_TAB = "Settings → Pay codes"
# Bill payments pay from a bank account; the other payables post each line to the account its code is mapped to.
_BILL_PAYMENTS = (EntityType.SETTLEMENT_PAYMENT, EntityType.CARRIER_PAYMENT)

# How the engine names a blocking record in SyncRecord.blocked_by: "<what>:<name>", e.g. "charge_code:CHASSIS":
# the mappings and settings it needs, and the billing records a Problem Sync tab names ("invoice:INV-1").
_BLOCKER_LABELS = {
    "charge_code": "charge code", "item": "item", "term": "payment term", "class": "class", "location": "location",
    "account": "account", "pay_code": "pay code", "deduction_code": "deduction code",
    **{spec.blocker_word: spec.nouns[0] for spec in ENTITIES if spec.problems and spec.problems.named_by is not None},
}


@dataclass(frozen=True)
class FixLink:
    """Where a cause is fixed: a page of the console and the words on the link."""

    page: str
    label: str


@dataclass(frozen=True)
class RootCause:
    """One group of problems sharing a cause, phrased for people.

    A group of blocked records names the cause that blocks their blockers (root_entity, root_record_ids: the
    records at the bottom of the chain); retry_offered is False where nothing has changed that could make a retry
    pass, and must_change then says what has to change first.
    """

    entity_type: EntityType
    error_kind: str | None
    error_code: str | None
    blocked_by: str | None
    count: int
    amount: Decimal
    sentence: str
    fix_hint: str
    fix_link: FixLink | None
    root_entity: EntityType | None = None
    root_record_ids: tuple[int, ...] = ()
    blockers: tuple[str, ...] = ()
    retry_offered: bool = True
    must_change: str | None = None


def split_blocker(blocked_by: str | None) -> tuple[str | None, str | None]:
    """("charge code", "CHASSIS") from "charge_code:CHASSIS"; (None, text) when the text has no known prefix."""
    if not blocked_by:
        return None, None
    what, sep, name = blocked_by.partition(":")
    if sep and what.strip().lower() in _BLOCKER_LABELS:
        return _BLOCKER_LABELS[what.strip().lower()], name.strip()
    return None, blocked_by.strip()


VENDOR_NAMES_TAB = "Settings → Vendor names"


def _vendor_clash_hint(name: str | None) -> str:
    """What to do when QuickBooks refuses a vendor's name (6240): the name is a customer's or an employee's there."""
    named = f" named {name}" if name else " of that name"
    return (f"QuickBooks already has a customer or employee{named}, and it keeps one list of names for customers, "
            f"vendors and employees. Give the vendor its own QuickBooks name on {VENDOR_NAMES_TAB} (for example "
            "with ' (V)' at the end; the billing name stays): the vendor is resynced and its bills follow by "
            "themselves.")


def _payables_hint(kind: str | None, blocked_by: str | None, entity_type: EntityType | None) -> str | None:
    """The fix hint of a payables cause (an unmapped pay or deduction code, a missing account), or None."""
    what, name = split_blocker(blocked_by)
    if what in ("pay code", "deduction code"):
        return (f"Map the {what} {name} to a QuickBooks expense account on {PAY_CODES_TAB}; the bills waiting for "
                "it retry by themselves once it is mapped.")
    if kind == ErrorKind.MAPPING and what == "account" and name != "income":
        if entity_type in _BILL_PAYMENTS:
            return f"Add a bank account named {name} in QuickBooks, then resync these payments."
        return (f"Add an account named {name} in QuickBooks and resync, or map the pay and deduction codes that post "
                f"to it to another expense account on {PAY_CODES_TAB} (the bills then retry by themselves).")
    return None


def fix_hint_for(kind: str | None, code: str | None, blocked_by: str | None = None,
                 entity_type: EntityType | None = None) -> str:
    """The fix hint of the classification table for a stored kind and code (in payables' words on their tabs)."""
    _, name = split_blocker(blocked_by)
    code = (code or "").strip()
    if kind == ErrorKind.PAID_IN_QBO:
        return LOCAL_RULES[ErrorKind.PAID_IN_QBO].fix_hint  # whatever code QuickBooks refused the delete with
    if code == "6240" and entity_type is EntityType.VENDOR:
        return _vendor_clash_hint(name)
    payables = _payables_hint(kind, blocked_by, entity_type)
    if payables is not None:
        return payables
    rule = None
    if code.upper().startswith("HTTP "):
        status = code[5:].strip()
        rule = HTTP_RULES.get(int(status)) if status.isdigit() else None
    elif code:
        rule = rule_for_code(code)
    if rule is None and kind:
        try:
            rule = LOCAL_RULES.get(ErrorKind(kind))
        except ValueError:
            rule = None
    if rule is None:
        return "Check the message and the last response below, correct the record, then resync."
    return rule.fix_hint.replace("{name}", name or "this")


def _phrase(kind: str | None, code: str | None, blocked_by: str | None, sample: str | None,
            entity_type: EntityType | None = None) -> str:
    what, name = split_blocker(blocked_by)
    blocker = f"{what} {name}" if what and name else (name or "")
    code_text = f" (code {code})" if code else ""
    # The engine names an unmapped charge code "item:<code>"; the billing side calls it a charge code.
    if (what in ("charge code", "item") and kind in (ErrorKind.MAPPING, None)) or (
            what == "charge code" and kind == ErrorKind.NOT_FOUND):
        return f"charge code {name} not mapped to a QuickBooks item"
    if kind == ErrorKind.MAPPING and what == "payment term":
        return f"payment term {name} not mapped to a QuickBooks term"
    if kind == ErrorKind.MAPPING and what in ("class", "location"):
        return f"{what} {name} does not exist in QuickBooks"
    if what in ("pay code", "deduction code") and kind in (ErrorKind.MAPPING, None):
        return f"{what} {name} not mapped to a QuickBooks expense account"
    if kind == ErrorKind.MAPPING and what == "account" and name != "income":
        return f"QuickBooks has no account named {name}"
    if kind == ErrorKind.MAPPING and what == "account":
        return f"no QuickBooks {name} account is chosen in Settings"
    if kind == ErrorKind.CLOSED_PERIOD:
        return "dated before the books' closing date in QuickBooks"
    if kind == ErrorKind.AUTH:
        return "QuickBooks needs to be reconnected"
    if kind == ErrorKind.DUPLICATE:
        if code == "6240" and entity_type is EntityType.VENDOR:
            owner = f"the name of {blocker}" if blocker else "the vendor's name"
            return f"{owner} is already used in QuickBooks by a customer or employee"
        if code == "6240" or what == "customer":
            return (f"{blocker or 'the customer'} clashes with a name already used in QuickBooks "
                    "(vendor, employee or customer)")
        if code == "6140":
            return "the number is already used by another transaction in QuickBooks"
        return "already exists in QuickBooks under the same number or name"
    if kind == ErrorKind.DEPENDENCY:
        return f"waiting for {blocker or 'a record they depend on'} to sync"
    if kind == ErrorKind.NOT_FOUND:
        return f"{blocker or 'a customer, item or account they use'} is inactive or missing in QuickBooks"
    if kind == ErrorKind.MAPPING:
        if blocker:
            return f"{blocker} cannot be mapped to QuickBooks"
        return f"cannot be mapped to QuickBooks: {sample or ''}"
    if kind in (ErrorKind.THROTTLED, ErrorKind.SERVER, ErrorKind.TIMEOUT):
        return "QuickBooks was busy or unreachable (retried automatically)"
    if kind == ErrorKind.STALE:
        return "changed in QuickBooks while the console was updating them"
    detail = f": {sample}" if sample else ""
    return f"rejected by QuickBooks{code_text}{detail}"


def fix_link_for(kind: str | None, code: str | None, blocked_by: str | None,
                 entity_type: EntityType | None = None) -> FixLink | None:
    """The console page where this cause is fixed, if any."""
    what, name = split_blocker(blocked_by)
    if code == "6240" and entity_type is EntityType.VENDOR:
        return FixLink(SETTINGS_PAGE, f"Give the vendor a QuickBooks name in {VENDOR_NAMES_TAB}")
    if what in ("pay code", "deduction code"):
        return FixLink(SETTINGS_PAGE, f"Map it in {PAY_CODES_TAB}")
    if kind == ErrorKind.MAPPING and what == "account" and name != "income":
        # A bank account to pay from is made in QuickBooks; no page of the console makes one.
        return None if entity_type in _BILL_PAYMENTS else FixLink(SETTINGS_PAGE, f"Remap the codes in {PAY_CODES_TAB}")
    if kind == ErrorKind.AUTH:
        return FixLink(SETTINGS_PAGE, "Reconnect in Settings")
    if kind == ErrorKind.MAPPING or what in ("charge code", "item", "payment term", "class", "location", "account"):
        return FixLink(SETTINGS_PAGE, "Fix the mapping in Settings")
    if code == "6240" or (kind == ErrorKind.DUPLICATE and what == "customer"):
        return FixLink(SETTINGS_PAGE, "Give it a QuickBooks name in Settings → Customer names")
    if kind in (ErrorKind.DUPLICATE, ErrorKind.NOT_FOUND) or code == "2030":
        return FixLink(QBO_IDS_PAGE, "Link or fix on QuickBooks IDs")
    return None


def describe_cause(
    entity_type: EntityType, kind: str | None, code: str | None, blocked_by: str | None, count: int,
    sample: str | None = None,
) -> str:
    """"23 invoices: charge code CHASSIS not mapped to a QuickBooks item"."""
    one, many = _NOUNS[entity_type]
    return f"{count:,} {one if count == 1 else many}: {_phrase(kind, code, blocked_by, sample, entity_type)}"


def make_root_cause(
    entity_type: EntityType, kind: str | None, code: str | None, blocked_by: str | None, count: int,
    amount: Decimal, sample: str | None = None,
) -> RootCause:
    """A root cause with its sentence, hint and fix link."""
    return RootCause(
        entity_type=entity_type, error_kind=kind, error_code=code, blocked_by=blocked_by, count=count, amount=amount,
        sentence=describe_cause(entity_type, kind, code, blocked_by, count, sample),
        fix_hint=fix_hint_for(kind, code, blocked_by, entity_type),
        fix_link=fix_link_for(kind, code, blocked_by, entity_type),
    )


def count_words(entity_type: EntityType, count: int) -> str:
    """"1 invoice", "301 invoices" (the cause sentences' nouns: a charge code, not an item)."""
    one, many = _NOUNS[entity_type]
    return f"{count:,} {one if count == 1 else many}"


def _root_phrase(root_entity: EntityType, kind: str | None, code: str | None, blocked_by: str | None,
                 sample: str | None) -> str:
    one, many = _NOUNS[root_entity]
    if kind == ErrorKind.CLOSED_PERIOD:
        return f"{one} date before the books' closing date in QuickBooks"
    if kind == ErrorKind.DUPLICATE and code == "6240" and not blocked_by:
        if root_entity is EntityType.VENDOR:
            return f"the {many}' names are already used in QuickBooks by customers or employees"
        return f"the {many}' names clash with names already used in QuickBooks (vendor, employee or customer)"
    return _phrase(kind, code, blocked_by, sample, root_entity)


def describe_chain(entity_type: EntityType, count: int, root_entity: EntityType, root_count: int,
                   kind: str | None, code: str | None, blocked_by: str | None, sample: str | None = None) -> str:
    """"312 payments and 301 invoices: invoice date before the books' closing date in QuickBooks"."""
    both = f"{count_words(entity_type, count)} and {count_words(root_entity, root_count)}"
    return f"{both}: {_root_phrase(root_entity, kind, code, blocked_by, sample)}"


def describe_waiting(entity_type: EntityType, count: int, root_entity: EntityType, root_count: int) -> str:
    """"5 payments: waiting for 3 invoices that have not synced yet" (blockers that have not failed)."""
    return (f"{count_words(entity_type, count)}: waiting for {count_words(root_entity, root_count)} that "
            f"{'has' if root_count == 1 else 'have'} not synced yet")


_OPTIONS_TAB = "Settings → Options"


def what_must_change(entity_type: EntityType, kind: str | None, code: str | None, blocked_by: str | None) -> str:
    """What has to change before a retry can pass, naming the action that changes it."""
    one, many = _NOUNS[entity_type]
    what, name = split_blocker(blocked_by)
    same = "Nothing has changed since the last attempt, so a retry would fail the same way."
    if kind == ErrorKind.CLOSED_PERIOD:
        return (f"Change the closing date in QuickBooks (then “Read it from QuickBooks now” on Month End), or the "
                f"{one} date in the billing system; Retry comes back once one of them has changed. {same}")
    if kind == ErrorKind.DUPLICATE and code == "6240" and entity_type is EntityType.VENDOR:
        return f"{_vendor_clash_hint(name)} {same}"
    if what in ("pay code", "deduction code"):
        return (f"Map the {what} {name} to a QuickBooks expense account on {PAY_CODES_TAB}; the blocked {many} retry "
                "by themselves once it is mapped.")
    if what == "account" and name != "income":
        return _payables_hint(ErrorKind.MAPPING.value, blocked_by, entity_type) or same
    if kind == ErrorKind.DUPLICATE and code == "6240":
        return ("Give the customer its own QuickBooks name on Settings → Customer names, or set the name-clash rule "
                f"there; the customer and every record waiting for it then sync by themselves. {same}")
    if what in ("charge code", "item"):
        return (f"Map the charge code {name} on Settings → Charge codes (or “Create and map” it there); the "
                f"blocked {many} retry by themselves once it is mapped.")
    if what == "payment term":
        return (f"Map the billing term {name} to a QuickBooks term on {_OPTIONS_TAB} (Payment terms); the "
                f"blocked {many} retry by themselves once it is mapped.")
    if what == "account":
        return (f"Choose the default income account on {_OPTIONS_TAB}; the blocked {many} retry by themselves "
                "once it is chosen.")
    if what in ("class", "location"):
        return (f"Create the {what} {name} in QuickBooks, or map the branch to an existing one on {_OPTIONS_TAB}; "
                f"the blocked {many} retry by themselves once it is there.")
    return (f"Correct the {many} in the billing system (the message says what QuickBooks rejected); Retry comes "
            f"back once they have changed. {same}")
