"""The one table from a QuickBooks fault code or HTTP status to a kind, a retry decision and a fix hint."""

from __future__ import annotations

from dataclasses import dataclass

from qbcore.errors import ErrorKind, QboError


@dataclass(frozen=True)
class Rule:
    """How one fault code (or HTTP status) is treated."""

    kind: ErrorKind
    retryable: bool
    fix_hint: str


K = ErrorKind

# Fault codes as QuickBooks returns them (strings). `{name}` is filled with the record's name when known.
FAULT_RULES: dict[str, Rule] = {
    "120": Rule(K.AUTH, False, "The QuickBooks user who connected lost access. Reconnect QuickBooks in Settings "
                               "as a company admin."),
    "500": Rule(K.VALIDATION, False, "QuickBooks does not support this operation on this record type. Report it "
                                     "to the console's maintainers with the request shown below."),
    "600": Rule(K.DUPLICATE, False, "QuickBooks already processed this request id. Resync the record; the console "
                                    "will look the record up and re-link it."),
    "610": Rule(K.NOT_FOUND, False, "Something this record uses (customer, item, account, class or a linked "
                                    "transaction) is inactive or deleted in QuickBooks. Reactivate it in QuickBooks "
                                    "or map this record to an active one, then resync."),
    "1040": Rule(K.VALIDATION, True, "Too many operations in one batch; the console retries in smaller batches."),
    "2010": Rule(K.MALFORMED, False, "QuickBooks rejected a field the console sent. Report it to the console's "
                                     "maintainers with the request shown below."),
    "2020": Rule(K.VALIDATION, False, "A required field is missing. Fill it in the billing system (or the mapping "
                                      "settings) and resync."),
    "2030": Rule(K.VALIDATION, False, "A QuickBooks id on this record is not valid. Fix or remove it on the "
                                      "QuickBooks IDs page and resync."),
    "2050": Rule(K.VALIDATION, False, "A value is longer than QuickBooks allows (invoice numbers ≤ 21 characters, "
                                      "names ≤ 100/500, descriptions ≤ 4,000). Shorten it and resync."),
    "2130": Rule(K.MALFORMED, False, "The request id was rejected. Report it to the console's maintainers."),
    "2500": Rule(K.NOT_FOUND, False, "A referenced record (customer, item, term, class or location) does not "
                                     "exist or is inactive in QuickBooks. Reactivate or re-map it, then resync."),
    "3001": Rule(K.THROTTLED, True, "QuickBooks asked us to slow down. The console waits and retries on its own."),
    "3100": Rule(K.AUTH, False, "QuickBooks refused access to this company. Reconnect QuickBooks in Settings."),
    "3200": Rule(K.AUTH, True, "The QuickBooks session expired. The console refreshes it on its own; if this "
                               "persists, reconnect QuickBooks in Settings."),
    "3202": Rule(K.AUTH, False, "QuickBooks refused access to this company. Reconnect QuickBooks in Settings."),
    "4000": Rule(K.MALFORMED, False, "QuickBooks could not parse a look-up query. Report it to the console's "
                                     "maintainers."),
    "4001": Rule(K.MALFORMED, False, "QuickBooks rejected a look-up query. Report it to the console's maintainers."),
    "5010": Rule(K.STALE, True, "Someone changed this record in QuickBooks while we were updating it. The console "
                                "re-reads it and retries; resync if it persists."),
    "6000": Rule(K.VALIDATION, False, "QuickBooks rejected the record by a business rule (see the detail). Correct "
                                      "it in the billing system and resync."),
    "6070": Rule(K.VALIDATION, False, "A line amount is not quantity × rate. Correct the charge in the billing "
                                      "system and resync."),
    "6080": Rule(K.VALIDATION, False, "The customer has no name. Give it a name in the billing system and resync."),
    "6140": Rule(K.DUPLICATE, False, "QuickBooks already has a transaction numbered {name}. If it is this record, "
                                     "link it on the QuickBooks IDs page; otherwise renumber one of them."),
    "6190": Rule(K.AUTH, False, "The QuickBooks subscription is not active. Renew it, then resync."),
    "6200": Rule(K.CLOSED_PERIOD, False, "The books are closed for this date in QuickBooks. Ask your accountant to "
                                         "reopen the period or change the closing date, then resync."),
    "6210": Rule(K.CLOSED_PERIOD, False, "The books are closed (password protected) for this date in QuickBooks. "
                                         "Ask your accountant to reopen the period, then resync."),
    "6240": Rule(K.DUPLICATE, False, "QuickBooks already has a customer, vendor or employee named {name}. Give "
                                     "the customer its own QuickBooks name in Settings → Customer names (or turn "
                                     "on the name-clash rule there); its invoices and payments follow by "
                                     "themselves."),
    "6250": Rule(K.NOT_FOUND, False, "The customer is inactive or missing in QuickBooks. Reactivate it in "
                                     "QuickBooks or relink it on the QuickBooks IDs page, then resync."),
    "6540": Rule(K.VALIDATION, False, "The payment was deposited in QuickBooks and cannot change. Undo the deposit "
                                      "in QuickBooks first."),
    "10000": Rule(K.SERVER, True, "QuickBooks had an internal error. The console retries on its own; resync later "
                                  "if it persists."),
}

# HTTP statuses without a usable fault body.
HTTP_RULES: dict[int, Rule] = {
    401: FAULT_RULES["3200"],
    403: FAULT_RULES["3100"],
    429: FAULT_RULES["3001"],
    500: FAULT_RULES["10000"],
    502: Rule(K.SERVER, True, "QuickBooks was unreachable (bad gateway). The console retries on its own."),
    503: Rule(K.SERVER, True, "QuickBooks is temporarily unavailable. The console retries on its own."),
    504: Rule(K.TIMEOUT, True, "QuickBooks took too long to answer. The console retries on its own."),
}

# Our own kinds, raised without a QuickBooks code.
LOCAL_RULES: dict[ErrorKind, Rule] = {
    K.TIMEOUT: Rule(K.TIMEOUT, True, "QuickBooks did not answer in time. The console retries with the same request "
                                     "id, so no twin is created."),
    K.SERVER: Rule(K.SERVER, True, "The connection to QuickBooks broke. The console retries with the same request "
                                   "id, so no twin is created."),
    K.MALFORMED: Rule(K.MALFORMED, True, "QuickBooks sent an answer the console could not read. The console retries; "
                                         "report it if it persists."),
    K.DEPENDENCY: Rule(K.DEPENDENCY, False, "A record this one depends on did not sync. Fix that one first; this one "
                                            "retries with it."),
    K.MAPPING: Rule(K.MAPPING, False, "The record cannot be mapped to QuickBooks. Fix the mapping in Settings, "
                                      "then resync."),
    K.AUTH: Rule(K.AUTH, False, "QuickBooks needs to be reconnected. Reconnect it in Settings; paused work resumes "
                                "by itself."),
    K.DUPLICATE: Rule(K.DUPLICATE, False, "QuickBooks already has a different record with this number or name. "
                                          "Link the right one on the QuickBooks IDs page or renumber one of them."),
    K.PAID_IN_QBO: Rule(K.PAID_IN_QBO, False, "Delete (or void) the bill payment that pays this bill in QuickBooks "
                                              "first, then resync: the bill is then deleted there and the record "
                                              "closes. The console never deletes a payment by itself."),
}


def _range_rule(code: int) -> Rule:
    # QuickBooks' documented code ranges, for codes the table does not name.
    if 0 < code < 500:
        return FAULT_RULES["3100"]
    if code < 600:
        return FAULT_RULES["500"]
    if code < 2000:
        return Rule(K.VALIDATION, False, FAULT_RULES["6000"].fix_hint)
    if code < 5000:
        return FAULT_RULES["2020"]
    if code < 10000:
        return FAULT_RULES["6000"]
    return FAULT_RULES["10000"]


def rule_for_code(code: str) -> Rule:
    """The rule for a fault code; unknown codes fall back to QuickBooks' code ranges."""
    if code in FAULT_RULES:
        return FAULT_RULES[code]
    try:
        return _range_rule(int(code))
    except ValueError:
        return LOCAL_RULES[K.MALFORMED]


def classify_fault(code: str, message: str, detail: str = "", *, name: str | None = None) -> QboError:
    """A QuickBooks Fault error → QboError."""
    rule = rule_for_code(str(code).strip())
    return QboError(kind=rule.kind, code=str(code), message=message or rule.kind.value, detail=detail or "",
                    retryable=rule.retryable, fix_hint=rule.fix_hint.replace("{name}", name or "this"))


def classify_status(status: int, body: str = "") -> QboError:
    """An HTTP status without a readable Fault → QboError."""
    rule = HTTP_RULES.get(status)
    if rule is None:
        # Unknown 5xx are transient by nature; an unknown 4xx will not fix itself.
        rule = LOCAL_RULES[K.SERVER] if status >= 500 else Rule(K.MALFORMED, False, LOCAL_RULES[K.MALFORMED].fix_hint)
    return QboError(kind=rule.kind, code=f"HTTP {status}", message=f"QuickBooks answered HTTP {status}",
                    detail=body[:500], retryable=rule.retryable, fix_hint=rule.fix_hint)


def classify_local(kind: ErrorKind, message: str, *, detail: str = "", code: str = "",
                   retryable: bool | None = None) -> QboError:
    """A failure found on our side (timeout, mapping, dependency, malformed answer) → QboError."""
    rule = LOCAL_RULES.get(kind, LOCAL_RULES[K.MALFORMED])
    return QboError(kind=kind, code=code, message=message, detail=detail,
                    retryable=rule.retryable if retryable is None else retryable, fix_hint=rule.fix_hint)


def inactive_reference(what: str, name: str, *, code: str = "610") -> QboError:
    """A QuickBooks record we would link to exists but is inactive."""
    return QboError(kind=K.NOT_FOUND, code=code, message=f"QuickBooks has an inactive {what} named {name}",
                    detail="Inactive records are hidden from look-ups and cannot be used on new transactions.",
                    retryable=False,
                    fix_hint=f"Reactivate the {what} {name} in QuickBooks, or map it to another active {what} in "
                             "Settings, then resync.")


def docnumber_clash(entity: str, number: str, *, theirs: str, ours: str, qbo_id: str) -> QboError:
    """QuickBooks holds a transaction with our number that is not ours (another customer or total)."""
    return QboError(kind=K.DUPLICATE, code="6140",
                    message=f"QuickBooks already has {entity} {number} (Id {qbo_id}) that does not match this one",
                    detail=f"QuickBooks: {theirs}. Billing system: {ours}.", retryable=False,
                    fix_hint=f"Check {entity} {number} in QuickBooks. If it is this record, link it on the QuickBooks "
                             "IDs page; otherwise renumber one of them, then resync.")



def is_linked_refusal(error: QboError) -> bool:
    """QuickBooks refused a delete because other transactions (a bill payment) are linked to the record."""
    words = f"{error.message} {error.detail}".lower()
    return error.kind is K.VALIDATION and ("link" in words or "dependenc" in words)


def bill_has_payment(what: str, number: str, error: QboError) -> QboError:
    """A bill voided in billing that QuickBooks will not delete: a payment there still pays it (its code kept)."""
    return QboError(kind=K.PAID_IN_QBO, code=error.code,
                    message=f"{what} {number} is void in billing, but QuickBooks will not delete its bill: a bill "
                            "payment there still pays it",
                    detail=error.detail or error.message, retryable=False,
                    fix_hint=LOCAL_RULES[K.PAID_IN_QBO].fix_hint)


def payment_still_in_quickbooks(what: str, number: str) -> QboError:
    """The payment of a bill voided in billing is still in QuickBooks (it went there before the void)."""
    return classify_local(K.PAID_IN_QBO, f"{what} {number} is void in billing, but its bill payment is still in "
                                         "QuickBooks", detail="The console never deletes a payment in QuickBooks.")
