"""Every page on a book whose every visible text is hostile: no markup from data, no internal words, money as $.

Issue #17 item 1 and issue #11 item 8. The book is the demo book with its problem list, a connected local sandbox,
a second QuickBooks company (issue #13) whose name is hostile text and which holds one moved customer, and every
text field a person can see overwritten with markdown, HTML, Streamlit directives, maths and autolinkable
addresses. Each view (every page, each Problem Sync tab with a record selected, Mapping Preview with the hostile
invoice chosen, QuickBooks IDs with a record selected and an override checked, Import with hostile files
validated) is walked element by element through the AppTest tree.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd
import pytest
from markdown_it import MarkdownIt
from sqlalchemy import select, update
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from qbcore import labels as label_maps
from qbcore import models
from qbcore.access import LOCAL_ADMIN
from qbcore.companies import add_company
from qbcore.config import load_config
from qbcore.customer_moves import move_customer
from qbcore.db import transaction
from qbcore.errors import ErrorKind
from qbcore.importer import FileKind
from qbcore.models import (
    AuditEvent,
    CarrierBill,
    ChargeCode,
    ChargeLine,
    CreditMemo,
    CreditMemoLine,
    Customer,
    DeductionCode,
    Drift,
    EntityType,
    Invoice,
    ItemMapping,
    Job,
    Load,
    PayablesAccountMapping,
    PayCode,
    Payment,
    QboConnection,
    Settlement,
    SyncAttempt,
    SyncRecord,
    SyncStatus,
    User,
    Vendor,
)
from qbcore.models.pull import DriftKind
from qbcore.pull.bookmark import save_book_close_date
from qbo_sandbox.server import SandboxOptions, start_in_thread
from tests.conftest import DEMO_AS_OF
from tests.qbcore.importer.conftest import read_rows, sample_files, to_csv
from tests.qbcore.problems.problem_data import seed_payables
from tests.ui.conftest import ROOT, open_page, tick_rows
from ui.markup import unescape_markdown

ADMIN = {"email": "ada@example.com", "role": "admin", "name": "Ada Admin"}

BEACON = "![t](http://127.0.0.1:8645/beacon.png)"
BOLD_LINK = "**bold** [link](http://evil)"
CLICK = "[CLICK](HTTP://EVIL.X)"
IMG_HTML = "<img src=x onerror=alert(1)>"
B_HTML = "<b>x</b>"
COLOUR = ":red[x]"
MATHS = "$x$"
ITALIC = "_i_"
URL = "http://evil.example"
EMAIL = "a@x.com"
# One string carrying every payload, for fields long enough to hold it.
ALL = " ".join([BEACON, BOLD_LINK, CLICK, IMG_HTML, B_HTML, COLOUR, MATHS, ITALIC, URL, EMAIL])
# A company name (at most 100 characters) carrying the payloads that fit.
HOSTILE_COMPANY = " ".join([BOLD_LINK, CLICK, B_HTML, COLOUR, MATHS, ITALIC, URL, EMAIL])[:100]
# Short payloads for short columns (codes, numbers), each at most 32 characters.
SHORT = [CLICK, B_HTML, COLOUR, MATHS, ITALIC, "**bold**", URL, EMAIL, IMG_HTML[:32]]
# The words inside the emphasis payloads: emphasis around exactly these came from data.
EMPHASISED_DATA = {"bold", "i"}


def _short(index: int, prefix: str = "") -> str:
    return (prefix + SHORT[index % len(SHORT)])[:32]


# --- The hostile book ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HostileBook:
    """The database, and the records the selected views open."""

    factory: Any
    invoice_number: str
    linked_record: int
    twin_qbo_id: str


@pytest.fixture
def sandbox_env(app_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local sandbox the pages talk to."""
    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as running:
        monkeypatch.setenv("QBSYNC_QBO_BASE_URL", running.url)
        yield running.url


def _overwrite_book(session) -> tuple[str, int]:
    """Every text field people can see, made hostile; returns the hostile invoice's number and a linked record."""
    customers = session.scalars(select(Customer).order_by(Customer.id)).all()
    for i, customer in enumerate(customers):
        customer.name = f"{ALL} #{i}"
        if i % 2:
            customer.qbo_display_name = f"{BOLD_LINK} {CLICK} #{i}"
        if i < len(SHORT):
            customer.code = _short(i)
        customer.billing_email = EMAIL
        customer.address_line1 = f"{BEACON} {B_HTML}"
        customer.city = COLOUR
    for i, code in enumerate(session.scalars(select(ChargeCode).order_by(ChargeCode.id)).all()):
        code.code = _short(i, f"{i}")
        code.name = f"{CLICK} {ITALIC} {i}"
        code.description = ALL
    session.execute(update(Invoice).values(memo=ALL))
    session.execute(update(ChargeLine).values(description=ALL))
    session.execute(update(Payment).values(memo=ALL, reference_number=CLICK))
    session.execute(update(CreditMemo).values(reason=f"{BEACON} {B_HTML}"))
    session.execute(update(CreditMemoLine).values(description=ALL))
    session.execute(update(Load).values(pickup_location=f"{BOLD_LINK} {COLOUR}", delivery_location=ALL[:200],
                                        bol=CLICK, reference_number=f"{MATHS} {ITALIC}"))
    invoices = session.scalars(select(Invoice).order_by(Invoice.id)).all()
    # Invoice numbers where the layout allows them (32 characters): a few, so the rest stay findable.
    for i, invoice in enumerate(invoices[:len(SHORT)]):
        invoice.number = _short(i, f"{i}")
    chosen = invoices[0].number
    _overwrite_payables(session)
    session.execute(update(SyncRecord).values(
        error_message=f"QuickBooks says {ALL}", error_detail=f"Detail {ALL}", note=ALL))
    session.execute(update(SyncRecord).where(SyncRecord.blocked_by.is_not(None)).values(
        blocked_by=f"customer:{BOLD_LINK} {CLICK}"))
    session.execute(update(SyncAttempt).values(message=f"Attempt {ALL}"))
    linked = session.scalars(select(SyncRecord).where(SyncRecord.status == SyncStatus.SYNCED,
                                                      SyncRecord.entity_type == EntityType.INVOICE)
                             .order_by(SyncRecord.id)).first()
    assert linked is not None
    session.get(Invoice, linked.entity_id).number = "[CLICK](HTTP://E.X)"  # 19 characters: QuickBooks allows 21
    session.execute(update(QboConnection).values(company_name=f"{ALL}"[:200]))
    session.execute(update(ItemMapping).values(qbo_item_name=f"{CLICK} {ITALIC}"[:100]))
    session.add_all([
        AuditEvent(actor=EMAIL, role="admin", action="change_settings", outcome="ok", target_type="invoice",
                   target_id=CLICK, reason=ALL),
        AuditEvent(actor=f"{BOLD_LINK}"[:200], role="viewer", action="clear_invoice", outcome="refused",
                   target_type="invoice", target_id=B_HTML, reason=f"{BEACON} {IMG_HTML}"),
        Job(kind="sync", params={"label": ALL}, status="failed", total=3, done=3, succeeded=1, failed=2,
            created_by=BOLD_LINK, error=ALL),
        User(email=EMAIL, name=ALL[:200], role="viewer"),
        Drift(entity_type=EntityType.INVOICE.value, entity_id=invoices[1].id, qbo_id="77", kind=DriftKind.EDIT,
              summary=ALL),
    ])
    return chosen, linked.id


def _overwrite_payables(session) -> None:
    """Vendors, pay and deduction codes, their accounts, settlement and bill numbers: every text people see."""
    for i, vendor in enumerate(session.scalars(select(Vendor).order_by(Vendor.id)).all()):
        vendor.name = f"{ALL} V{i}"
        vendor.company_name = ALL[:200] if vendor.company_name else None
        vendor.email, vendor.address_line1, vendor.city = EMAIL, f"{BEACON} {B_HTML}", COLOUR
    for model, letter in ((PayCode, "P"), (DeductionCode, "D")):
        for i, code in enumerate(session.scalars(select(model).order_by(model.id)).all()):
            code.code = _short(i, f"{letter}{i}")
            code.name = f"{CLICK} {ITALIC} {letter}{i}"
            code.description = ALL
    session.execute(update(PayablesAccountMapping).values(qbo_account_name=f"{BOLD_LINK} {ITALIC}"))
    # Bill numbers where QuickBooks allows them (21 characters): a few, so the rest stay findable.
    for i, settlement in enumerate(session.scalars(select(Settlement).order_by(Settlement.id)).all()[:len(SHORT)]):
        settlement.number = _short(i, f"S{i}")[:21]
    for i, bill in enumerate(session.scalars(select(CarrierBill).order_by(CarrierBill.id)).all()[:len(SHORT)]):
        bill.carrier_invoice_number = _short(i, f"C{i}")[:21]
    session.execute(update(Settlement).values(memo=ALL))
    session.execute(update(CarrierBill).values(memo=ALL))


def _hostile_twin(gateway, session, record_id: int) -> str:
    """A QuickBooks invoice with our linked invoice's number but a hostile customer and memo: it differs."""
    invoice = session.get(Invoice, session.get(SyncRecord, record_id).entity_id)
    customer = gateway.write("Customer", {"DisplayName": f"{BOLD_LINK} {CLICK}"[:100]}, request_id="hostile-c")["Id"]
    return str(gateway.write("Invoice", {
        "DocNumber": invoice.number, "TxnDate": invoice.invoice_date.isoformat(), "CustomerRef": {"value": customer},
        "PrivateNote": ALL, "CustomerMemo": {"value": ALL},
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 1.5, "Description": ALL,
                  "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1, "UnitPrice": 1.5}}],
    }, request_id="hostile-i")["Id"])


@pytest.fixture
def hostile(sandbox_env: str, demo_factory) -> HostileBook:
    """The demo book with its problems, connected to the sandbox, every visible text hostile."""
    from qbcore.alerts.outbox import queue_alerts
    from qbcore.qbo.lookup import open_gateway
    from qbcore.qbo.oauth import ensure_local_connection

    config = load_config(os.environ, {})
    ensure_local_connection(demo_factory, config)
    with transaction(demo_factory) as session:
        # A second company named in hostile text, holding the second customer: selectors, Company columns, the
        # side-by-side health and the move dialog all show its name.
        second = add_company(session, LOCAL_ADMIN, HOSTILE_COMPANY).id
        tops = session.scalars(select(Customer.id).where(Customer.parent_id.is_(None)).order_by(Customer.id)).all()
        move_customer(session, LOCAL_ADMIN, tops[1], second, reason=ALL)
    ensure_local_connection(demo_factory, config, second)
    with transaction(demo_factory) as session:
        seed_payables(session)  # the receivables' problems, payables switched on with problems of their own
        number, linked = _overwrite_book(session)
        # Every waiting record falls in the closed period, so Month End lists them by their (hostile) numbers.
        save_book_close_date(session, DEMO_AS_OF)
    with transaction(demo_factory) as session:
        twin = _hostile_twin(open_gateway(demo_factory, config), session, linked)
    with transaction(demo_factory) as session:
        # What alerts say is wrong now (Alerts page) is made of the hostile names and causes above.
        queue_alerts(session)
    return HostileBook(demo_factory, number, linked, twin)


# --- The views -------------------------------------------------------------------------------------------------

def _grid(at: AppTest):
    return at.get("component_instance")[0]


def _select_first(at: AppTest) -> None:
    grid = _grid(at)
    rows = _grid_frame(grid)
    tick_rows(at, [int(rows["id"].iloc[0])])
    at.run()


def _grid_frame(grid) -> pd.DataFrame:
    return convert_arrow_bytes_to_pandas_df(grid.proto.special_args[0].arrow_dataframe.data.data)


def _page(name: str) -> Callable[[AppTest, HostileBook], None]:
    def show(at: AppTest, book: HostileBook) -> None:
        if name != "Home.py":
            open_page(at, name, actor=ADMIN)
        else:
            at.session_state["qbsync_actor"] = ADMIN
            at.run()
    return show


def _problem_tab(tab: str) -> Callable[[AppTest, HostileBook], None]:
    def show(at: AppTest, book: HostileBook) -> None:
        at.session_state["ps_tab"] = tab
        open_page(at, "4_Problem_Sync.py", actor=ADMIN)
        _select_first(at)
    return show


def _mapping_preview(at: AppTest, book: HostileBook) -> None:
    open_page(at, "3_Mapping_Preview.py", actor=ADMIN)
    at.text_input(key="mp_search").input(book.invoice_number).run()


def _mapping_preview_settlement(at: AppTest, book: HostileBook) -> None:
    with book.factory() as session:
        # The first settlement the sync sends, among those given hostile numbers (its driver's name is hostile too).
        number = session.scalars(select(Settlement.number).where(Settlement.status != "draft")
                                 .order_by(Settlement.id)).first()
    open_page(at, "3_Mapping_Preview.py", actor=ADMIN)
    at.radio(key="mp_kind").set_value("settlement").run()
    at.text_input(key="mp_bill_search_settlement").input(number).run()
    assert at.header[-1].value.startswith("Settlement "), "the settlement's preview is shown"


def _quickbooks_ids(at: AppTest, book: HostileBook) -> None:
    open_page(at, "2_QuickBooks_IDs.py", actor=ADMIN)
    tick_rows(at, [book.linked_record])
    at.run()
    at.button(key="ids_override").click().run()
    # The twin has our number but a hostile customer and amount: the check shows how it differs from ours.
    at.text_input(key="ids_new_id").input(book.twin_qbo_id).run()
    at.button(key="ids_check").click().run()


def _quickbooks_ids_dialog(button: str, then: str | None) -> Callable[[AppTest, HostileBook], None]:
    def show(at: AppTest, book: HostileBook) -> None:
        open_page(at, "2_QuickBooks_IDs.py", actor=ADMIN)
        tick_rows(at, [book.linked_record])
        at.run()
        at.button(key=button).click().run()
        if then is not None:
            at.button(key=then).click().run()
    return show


def _settings_companies(at: AppTest, book: HostileBook) -> None:
    at.session_state["set_tab"] = "Companies"
    open_page(at, "1_Settings.py", actor=ADMIN)


def _settings_second_company(at: AppTest, book: HostileBook) -> None:
    open_page(at, "1_Settings.py", actor=ADMIN)
    at.selectbox(key="set_company").select_index(1).run()  # the hostile company, added second


def _quickbooks_ids_move(at: AppTest, book: HostileBook) -> None:
    open_page(at, "2_QuickBooks_IDs.py", actor=ADMIN)
    tick_rows(at, [book.linked_record])
    at.run()
    at.button(key="ids_move").click().run()


def _month_end_company(at: AppTest, book: HostileBook) -> None:
    open_page(at, "8_Month_End.py", actor=ADMIN)
    at.selectbox(key="month_end_company").select_index(2).run()  # after "All companies" and the first company


def _home_with_connection(**values: Any) -> Callable[[AppTest, HostileBook], None]:
    def show(at: AppTest, book: HostileBook) -> None:
        with transaction(book.factory) as session:
            session.execute(update(QboConnection).values(**values))
        _page("Home.py")(at, book)
    return show


def _import(valid: bool) -> Callable[[AppTest, HostileBook], None]:
    def show(at: AppTest, book: HostileBook) -> None:
        files = sample_files()
        customers = read_rows(FileKind.CUSTOMERS)
        customers[0]["name"] = ALL[:200]
        invoices = read_rows(FileKind.INVOICES)
        for row in invoices:
            row["charge_code"] = CLICK
            row["description"] = ALL
        if not valid:
            invoices[0]["customer_code"] = CLICK
            invoices[1]["amount"] = BOLD_LINK
            invoices[2]["invoice_date"] = B_HTML
        files[FileKind.CUSTOMERS] = to_csv(customers)
        files[FileKind.INVOICES] = to_csv(invoices)
        open_page(at, "6_Import.py", actor=ADMIN)
        for kind, data in files.items():
            at.file_uploader(key=f"imp_file_{kind.value}").set_value((f"{kind.value}.csv", data, "text/csv"))
        at.run()
        at.button(key="imp_validate").click().run()
        if valid:
            at.button(key="imp_import").click().run()
    return show


def _reconciliation(at: AppTest, book: HostileBook) -> None:
    open_page(at, "7_Reconciliation.py", actor=ADMIN)
    at.button(key="recon_run").click().run()


def _reconciliation_payables(at: AppTest, book: HostileBook) -> None:
    open_page(at, "7_Reconciliation.py", actor=ADMIN)
    at.radio(key="recon_side").set_value("Payables").run()
    at.button(key="recon_ap_run").click().run()


VIEWS: dict[str, Callable[[AppTest, HostileBook], None]] = {
    "Home": _page("Home.py"),
    **{page.stem: _page(page.name) for page in sorted((ROOT / "pages").glob("*.py"))},
    **{f"Problem Sync · {tab} · one selected": _problem_tab(tab)
       for tab in ("Invoices", "Payments", "Customers", "Credit Memos", "Vendors", "Settlements", "Carrier Bills",
                   "Settlement Payments")},
    "Mapping Preview · hostile invoice": _mapping_preview,
    "Mapping Preview · settlement": _mapping_preview_settlement,
    "QuickBooks IDs · override checked": _quickbooks_ids,
    "QuickBooks IDs · re-link searched": _quickbooks_ids_dialog("ids_relink", "ids_search"),
    "QuickBooks IDs · remove dialog": _quickbooks_ids_dialog("ids_remove", None),
    "Home · reconnect needed": _home_with_connection(status="reconnect_required", last_error=ALL),
    "Home · disconnected by": _home_with_connection(status="disconnected", disconnected_by=BOLD_LINK),
    "Import · hostile files with errors": _import(valid=False),
    "Import · hostile files valid": _import(valid=True),
    "Reconciliation · compared": _reconciliation,
    "Reconciliation · payables compared": _reconciliation_payables,
    "Settings · Companies tab": _settings_companies,
    "Settings · hostile company chosen": _settings_second_company,
    "QuickBooks IDs · move dialog": _quickbooks_ids_move,
    "Month End · hostile company chosen": _month_end_company,
}


# Columns that show text as it is typed into an import file, not as a reader sees it (Import's layout tables).
FILE_TEXT_COLUMNS = {"Example"}

# The one view that shows nothing from the book: Import before a file is uploaded.
BOOK_FREE_VIEWS = {"6_Import"}


def _render(home: AppTest, book: HostileBook, view: str) -> AppTest:
    VIEWS[view](home, book)
    assert not home.exception, [e.value for e in home.exception]
    return home


# --- Walking the tree ------------------------------------------------------------------------------------------

# Fields Streamlit renders as markdown, on any element or block that has them.
MARKDOWN_FIELDS = ("label", "help", "body", "text", "delta", "title")
# Elements whose text is shown as-is (code, JSON, tables, charts, uploads) or that carry no text.
NOT_MARKDOWN = {"Code", "Json", "Arrow", "Dataframe", "ArrowNamedDataFrame", "ComponentInstance", "ArrowVegaLiteChart",
                "VegaLiteChart", "PlotlyChart", "DeckGlJsonChart", "Exception", "TextInput", "TextArea",
                "NumberInput", "Empty", "Spinner", "Text"}


@dataclass(frozen=True)
class Shown:
    """One piece of text a page sends to the browser: where, which field, the markdown source."""

    where: str
    field: str
    source: str
    is_markdown: bool = True


def _message_fields(proto) -> Iterator[tuple[str, str]]:
    for field, value in proto.ListFields():
        if field.name in MARKDOWN_FIELDS and isinstance(value, str):
            yield field.name, value


def _walk(node, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    for key, child in getattr(node, "children", {}).items():
        yield from _walk(child, f"{path}/{getattr(child, 'type', key)}")


def shown_texts(at: AppTest) -> list[Shown]:
    """Every markdown-rendered text on the page, and the plain texts (options) a person reads too."""
    found: list[Shown] = []
    for path, node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        kind = type(proto).__name__
        if kind == "Block":
            which = proto.WhichOneof("type")
            inner = getattr(proto, which) if which else None
            if inner is not None:
                found += [Shown(path, f"{which}.{name}", value) for name, value in _message_fields(inner)]
            continue
        if kind in NOT_MARKDOWN:
            continue
        if kind == "Markdown" and proto.element_type in (proto.Type.LATEX, proto.Type.DIVIDER):
            continue
        found += [Shown(path, name, value) for name, value in _message_fields(proto)]
        if kind == "Radio":  # radio options and captions are markdown
            found += [Shown(path, "options", o) for o in proto.options]
            found += [Shown(path, "captions", c) for c in proto.captions]
        elif kind in ("Selectbox", "MultiSelect"):  # plain text, but read
            found += [Shown(path, "options", o, is_markdown=False) for o in proto.options]
    return found


_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_DIRECTIVE = re.compile(r"(?<!\\):(?:[a-z]+(?:-background|-badge)?|material/[a-z_]+)[\[:]")
_MATHS = re.compile(r"\$[^$]+\$")
_AUTOLINK = re.compile(r"(?i)(?:\b(?:https?|ftp)://|\bwww\.|[\w.+-]@[\w-]+\.[a-z])")


def markup_from_data(source: str) -> list[str]:
    """The markup this markdown source renders that no literal template would: links, images, HTML, emphasis
    around data, Streamlit directives, maths and links Streamlit makes of bare addresses."""
    found = []
    tokens = _PARSER.parse(source)
    for token in tokens:
        if token.type in ("html_block",):
            found.append(f"html_block {token.content!r}")
        children = token.children or []
        for i, child in enumerate(children):
            if child.type in ("link_open", "image", "html_inline", "s_open"):
                found.append(f"{child.type} {child.attrs or child.content!r}")
            elif child.type in ("strong_open", "em_open"):
                close = child.type.replace("_open", "_close")
                inner = []
                for later in children[i + 1:]:
                    if later.type == close:
                        break
                    inner.append(later.content)
                if "".join(inner).strip() in EMPHASISED_DATA:
                    found.append(f"{child.type} around {''.join(inner)!r}")
    if directive := _DIRECTIVE.search(source):
        found.append(f"Streamlit directive {directive.group(0)!r}")
    if _MATHS.search(source.replace("\\$", "")):
        found.append("maths ($…$)")
    if autolink := _AUTOLINK.search(source):
        found.append(f"autolink {autolink.group(0)!r}")
    return found


# --- Internal words and money ----------------------------------------------------------------------------------

def _enum_words() -> set[str]:
    words: set[str] = set()
    for module in (models, models.pull, models.payables):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum:
                words |= {member.value for member in value}
    words |= {kind.value for kind in ErrorKind} | set(label_maps.AUDIT_ACTION) | {"OTHER"}
    return words


ENUM_WORDS = _enum_words()
# In running text only the words no sentence would hold: snake_case and upper-case codes.
TEXT_WORDS = sorted(w for w in ENUM_WORDS if "_" in w or w.isupper())
_TEXT_WORD = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, TEXT_WORDS)) + r")(?![\w-])")
# An amount written as a bare number: 8305.5, 610928.22 (not a $ amount, a version or seconds).
_BARE_MONEY = re.compile(r"(?<!like )(?<![\w$.,:/#-])\d+\.\d{1,2}(?![\d.%])(?!\s*(?:s|ms|seconds?|x)\b)")
_EMPTY_WORDS = {"None", "none", "nan", "NaN", "NaT", "null"}
_MONEY_HEADER = re.compile(r"(?i)amount|total|balance|\bopen\b(?!\s*\(days)|difference|receivable|\$|"
                           r"\bhere\b|in qb|in quickbooks")


# Counted nouns the pages write; "1 records", "2 invoice" and "error(s)" are wrong plurals (labels.plural).
_NOUNS = ("record", "row", "invoice", "payment", "customer", "credit memo", "event", "error", "job", "request",
          "item", "charge code", "drift", "user", "problem", "attempt", "QuickBooks request", "file")
_ONE_MANY = re.compile(r"(?<![\d,.#$-])1 (" + "|".join(n + "s" for n in _NOUNS) + r")\b")
_MANY_ONE = re.compile(r"(?<![\d,.#$-])(?:[02-9]|[1-9]\d{1,2}(?:,\d{3})*|\d{4,}) (" + "|".join(_NOUNS) +
                       r")(?![\w(])(?!\s+[a-z])")
_MAYBE_PLURAL = re.compile(r"\w\(s\)")
# Python's None (or pandas' nan) in a sentence: "linked to QuickBooks id None".
_PYTHON_EMPTY = re.compile(r"(?<=[\w,:] )(None|none|nan|NaT)\b(?! of\b)")


def _word_findings(where: str, text: str) -> list[str]:
    found = [f"{where}: internal word {m.group(1)!r} in {text[:120]!r}" for m in _TEXT_WORD.finditer(text)]
    found += [f"{where}: bare amount {m.group(0)!r} in {text[:120]!r}" for m in _BARE_MONEY.finditer(text)]
    found += [f"{where}: wrong plural {m.group(0)!r} in {text[:120]!r}"
              for pattern in (_ONE_MANY, _MANY_ONE, _MAYBE_PLURAL) for m in pattern.finditer(text)]
    found += [f"{where}: {m.group(1)!r} for an empty value in {text[:120]!r}" for m in _PYTHON_EMPTY.finditer(text)]
    return found


def _column_settings(proto) -> dict[str, Any]:
    return json.loads(proto.columns) if getattr(proto, "columns", "") else {}


def _frame_findings(where: str, frame: pd.DataFrame, settings: dict[str, Any]) -> list[str]:
    found = []
    for column in frame.columns:
        if str(column) in ("id", "_selectedRowNodeInfo"):
            continue
        config = settings.get(str(column)) or {}
        shown_as = config.get("label") or str(column)
        kind = config.get("type_config", {})
        values = frame[column]
        found += _word_findings(f"{where} header", str(shown_as))
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            number_format = str(kind.get("format") or "")
            progress = kind.get("type") == "progress"
            fractional = bool(((values.dropna() % 1) != 0).any())
            if not progress and (fractional or _MONEY_HEADER.search(str(shown_as))) and \
                    number_format not in ("dollar", "accounting") and "$" not in number_format:
                found.append(f"{where}: column {shown_as!r} shows amounts as bare numbers "
                             f"({values.dropna().head(2).tolist()})")
            continue
        for value in values:
            if value is None or (isinstance(value, float) and pd.isna(value)):
                found.append(f"{where}: column {shown_as!r} has an empty cell shown as None")
                break
            text = str(value)
            # What to type into a CSV file ("check", "725.00") is right there as it is, not as a reader's label.
            file_text = str(shown_as) in FILE_TEXT_COLUMNS
            if text in _EMPTY_WORDS or (text in ENUM_WORDS and not file_text):
                found.append(f"{where}: column {shown_as!r} shows the raw word {text!r}")
                break
            words = _word_findings(f"{where}: column {shown_as!r}", text)
            if file_text:
                words = [w for w in words if ": bare amount " not in w and ": internal word " not in w]
            if words:
                found.append(words[0])
                break
    return found


def _grid_findings(where: str, grid) -> list[str]:
    frame = _grid_frame(grid)
    options = json.loads(grid.proto.json_args).get("gridOptions", {})
    money = {c["field"] for c in options.get("columnDefs", []) if "valueFormatter" in c}
    headers = {c["field"]: c.get("headerName", c["field"]) for c in options.get("columnDefs", [])}
    found = []
    for column in frame.columns:
        if column not in headers:
            continue
        if pd.api.types.is_float_dtype(frame[column]) and column not in money:
            found.append(f"{where}: grid column {headers[column]!r} shows amounts as bare numbers")
        elif not pd.api.types.is_numeric_dtype(frame[column]):
            found += _frame_findings(where, frame[[column]].rename(columns={column: headers[column]}), {})
    return found


def words_and_money(at: AppTest) -> list[str]:
    """Raw enum words, 'None' and unformatted amounts anywhere a person reads: text, options, tables, grids."""
    found = []
    for shown in shown_texts(at):
        text = unescape_markdown(shown.source) if shown.is_markdown else shown.source
        found += _word_findings(f"{shown.where} {shown.field}", text)
        if shown.field in ("options", "captions") and text in ENUM_WORDS | _EMPTY_WORDS:
            found.append(f"{shown.where}: option shows the raw word {text!r}")
    for path, node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        kind = type(proto).__name__
        if getattr(node, "type", None) == "dataframe":
            found += _frame_findings(path, node.value, _column_settings(proto))
        elif kind == "ComponentInstance" and proto.special_args:
            found += _grid_findings(path, node)
        elif kind == "VegaLiteChart":
            for dataset in proto.datasets:  # legends, axes and tooltips show the chart's text values
                frame = convert_arrow_bytes_to_pandas_df(dataset.data.data)
                text = frame[[c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]]
                found += _frame_findings(f"{path} data", text, {})
    return found


def _all_strings(at: AppTest) -> Iterator[str]:
    yield from (s.source for s in shown_texts(at))
    for _, node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        kind = type(proto).__name__
        frame = (node.value if getattr(node, "type", None) == "dataframe" else
                 _grid_frame(node) if kind == "ComponentInstance" and proto.special_args else None)
        if frame is not None:
            yield from (str(v) for column in frame.columns for v in frame[column])


# --- The tests -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("view", list(VIEWS))
def test_no_page_renders_markup_from_hostile_data(home, hostile, view):
    at = _render(home, hostile, view)
    texts = [s for s in shown_texts(at) if s.is_markdown]
    # The walk reached the hostile data: the page shows some of it (in text, or at least in its tables).
    assert view in BOOK_FREE_VIEWS or any("CLICK" in t or "bold" in t or "evil" in t for t in _all_strings(at)), view
    findings = [f"{s.where} {s.field}: {what} in {s.source[:160]!r}"
                for s in texts for what in markup_from_data(s.source)]
    assert findings == []


@pytest.mark.parametrize("view", list(VIEWS))
def test_no_page_shows_internal_words_none_or_bare_amounts(home, hostile, view):
    at = _render(home, hostile, view)
    assert words_and_money(at) == []


# --- The checks themselves can fail ----------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "finds"), [
    (BEACON, "image"), (BOLD_LINK, "strong_open"), (CLICK, "link_open"), (IMG_HTML, "html"), (B_HTML, "html"),
    (COLOUR, "directive"), (MATHS, "maths"), (ITALIC, "em_open"), (URL, "autolink"), (EMAIL, "autolink"),
    (f"Invoice · **{ALL}**", "image"), (":material/home: x", "directive"),
])
def test_the_markup_check_finds_each_hostile_payload_unescaped(source, finds):
    assert any(finds in f for f in markup_from_data(source)), markup_from_data(source)


def test_the_markup_check_passes_escaped_data_in_a_bold_template():
    from ui.markup import md

    assert markup_from_data(md("Invoice **{}** · {}", ALL, ALL)) == []


@pytest.mark.parametrize(("frame", "settings", "finds"), [
    (pd.DataFrame({"Status": ["never_synced"]}), {}, "raw word 'never_synced'"),
    (pd.DataFrame({"Kind": ["OTHER"]}), {}, "raw word 'OTHER'"),
    (pd.DataFrame({"Why": ["failed: closed_period"]}), {}, "internal word 'closed_period'"),
    (pd.DataFrame({"Memo": [None]}), {}, "shown as None"),
    (pd.DataFrame({"Memo": ["None"]}), {}, "raw word 'None'"),
    (pd.DataFrame({"Amount": [8305.5]}), {}, "bare numbers"),
    (pd.DataFrame({"Open here": [15668]}), {}, "bare numbers"),
    (pd.DataFrame({"Note": ["paid 610928.22 today"]}), {}, "bare amount"),
    (pd.DataFrame({"Note": ["Export 1 rows"]}), {}, "wrong plural '1 rows'"),
    (pd.DataFrame({"Note": ["found 2 error"]}), {}, "wrong plural '2 error'"),
    (pd.DataFrame({"Note": ["3 error(s) found"]}), {}, "wrong plural 'r(s)'"),
    (pd.DataFrame({"Note": ["linked to QuickBooks id None"]}), {}, "'None' for an empty value"),
])
def test_the_word_and_money_check_finds_each_kind(frame, settings, finds):
    assert any(finds in f for f in _frame_findings("t", frame, settings)), _frame_findings("t", frame, settings)


def test_the_word_and_money_check_passes_labels_and_dollar_columns():
    frame = pd.DataFrame({"Status": ["Never synced"], "Amount": [8305.5],
                          "Note": ["$8,305.50 in 1.2 s; 1 record, 2 records, 1,204 invoice lines; None of them"]})
    assert _frame_findings("t", frame, {"Amount": {"type_config": {"type": "number", "format": "dollar"}}}) == []
