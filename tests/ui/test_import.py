"""Import page (AppTest): upload through the file uploaders, validate, see errors or the summary, confirm, import."""

from __future__ import annotations

from sqlalchemy import func, select

from qbcore.importer import FILE_LABELS, FileKind, column_names
from qbcore.models import AuditEvent, Invoice
from tests.qbcore.importer.conftest import read_rows, sample_files, to_csv
from tests.ui.conftest import open_page
from ui.markup import unescape_markdown

PAGE = "6_Import.py"
OPERATOR = {"email": "ops@example.com", "role": "operator", "name": "Olga Ops"}
VIEWER = {"email": "viewer@example.com", "role": "viewer", "name": "Vic Viewer"}


def _upload(at, files):
    for kind, data in files.items():
        at.file_uploader(key=f"imp_file_{kind.value}").set_value((f"{kind.value}.csv", data, "text/csv"))
    at.run()
    assert not at.exception


def _invoices(factory):
    with factory() as session:
        return session.scalar(select(func.count()).select_from(Invoice))


def _texts(elements):
    return " | ".join(unescape_markdown(str(e.value)) for e in elements)


def test_the_page_offers_an_uploader_and_a_template_per_kind_and_validate_waits_for_a_file(home, factory):
    at = open_page(home, PAGE)
    assert not at.exception
    assert len(at.file_uploader) == len(FileKind) == 7  # receivables, then vendors, settlements, carrier bills
    assert at.button(key="imp_validate").disabled
    templates = [b for b in at.get("download_button") if b.proto.id and "imp_template" in b.proto.id]
    assert len(templates) == 7
    labels = [unescape_markdown(b.proto.label) for b in templates]
    assert labels[-3:] == ["Download the vendors template", "Download the settlement lines template",
                           "Download the carrier bill lines template"], labels
    assert "Upload at least one file" in _texts(at.info)


def test_the_page_shows_the_layout_of_every_file_from_the_importers_own_columns(home, factory):
    at = open_page(home, PAGE)
    assert not at.exception
    assert "docs/import-layout.md" not in _texts(at.markdown) + _texts(at.caption)  # a path a browser cannot open
    titles = [unescape_markdown(e.label) for e in at.expander]
    assert "Invoice lines (invoice_lines.csv) · 21 columns, 15 required" in titles, titles
    tables = {}
    for expander, kind in zip(at.expander, FileKind, strict=True):
        assert unescape_markdown(expander.label).startswith(FILE_LABELS[kind])
        tables[kind] = table = expander.dataframe[0].value
        assert list(table.columns) == ["Column", "Required", "Format", "Example"]
        assert table["Column"].tolist() == column_names(kind)  # the importer's layout, in template order
    invoices = tables[FileKind.INVOICES]
    row = invoices.set_index("Column").loc["container_number"]
    assert (row["Required"], row["Example"]) == ("Required", "MSCU1234566")
    assert "ISO 6346" in row["Format"]
    # The notes are whole sentences: listed in words under the table, where they wrap instead of being cut off.
    notes = _texts(at.expander[1].markdown)
    assert "**amount**: Must equal quantity × rate, rounded to the cent." in notes, notes
    assert "layout document" not in notes
    assert invoices.set_index("Column").loc["invoice_date", "Format"] == "date: YYYY-MM-DD or MM/DD/YYYY"


def test_uploading_a_bad_file_shows_every_error_in_a_table_and_writes_nothing(home, factory):
    files = sample_files()
    rows = read_rows(FileKind.INVOICES)
    rows[0]["container_number"] = "MSCU1234560"
    rows[2]["amount"] = "1.00"
    files[FileKind.INVOICES] = to_csv(rows)
    at = open_page(home, PAGE, OPERATOR)
    _upload(at, files)
    at.button(key="imp_validate").click().run()
    assert not at.exception
    assert "2 errors found; nothing can be imported" in _texts(at.error)
    table = at.dataframe[-1].value
    assert list(table.columns) == ["File", "Row", "Column", "What is wrong"]
    found = {(r["Row"], r["Column"]) for _, r in table.iterrows()}
    assert {(2, "container_number"), (4, "amount")} <= found
    assert any("should be 6" in m for m in table["What is wrong"])
    assert not [b for b in at.button if b.key == "imp_import"]
    assert _invoices(factory) == 0


def test_a_valid_set_validates_then_imports_after_confirmation_and_is_audited(home, factory):
    at = open_page(home, PAGE, OPERATOR)
    _upload(at, sample_files())
    at.button(key="imp_validate").click().run()
    summary = at.dataframe[-1].value
    assert summary.set_index("Records").loc["Invoices", "Created"] == 3
    assert summary.set_index("Records").loc["Settlements", "Created"] == 3
    assert summary.set_index("Records").loc["Carrier bills", "Created"] == 2
    assert ("New deduction codes will be created (map them to QuickBooks expense accounts in Settings → Pay "
            "codes): CHASSIS, ELD, FUELADV, OCCACC") in _texts(at.caption)
    assert _invoices(factory) == 0  # validation writes nothing
    at.button(key="imp_import").click().run()
    assert "in one transaction?" in _texts(at.warning)
    at.button(key="imp_confirm_yes").click().run()
    assert not at.exception
    assert "Imported. customers: 3 created" in _texts(at.success)
    assert _invoices(factory) == 3
    with factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "import_book")).one()
        assert event.actor == OPERATOR["email"] and event.after["counts"]["invoices"]["created"] == 3
    # The same files again: nothing to import.
    at.button(key="imp_validate").click().run()
    assert at.button(key="imp_import").disabled
    assert "the book already matches these files" in _texts(at.caption)


def test_cancel_closes_the_confirmation_without_importing(home, factory):
    at = open_page(home, PAGE, OPERATOR)
    _upload(at, sample_files())
    at.button(key="imp_validate").click().run()
    at.button(key="imp_import").click().run()
    at.button(key="imp_confirm_no").click().run()
    assert not at.exception and not at.warning
    assert _invoices(factory) == 0


def test_a_viewer_may_validate_but_not_import(home, factory):
    at = open_page(home, PAGE, VIEWER)
    _upload(at, sample_files())
    at.button(key="imp_validate").click().run()
    assert at.dataframe[-1].value is not None
    assert at.button(key="imp_import").disabled
    assert "needs the operator role" in _texts(at.caption)
    assert _invoices(factory) == 0
