"""Import: load a real book from TMS CSV exports — validate every row first, then import it all or nothing."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from qbcore.access import is_allowed
from qbcore.db import transaction
from qbcore.importer import (
    COLUMNS,
    FILE_LABELS,
    FILE_ROWS,
    LAYOUT_HEADER,
    TEMPLATE_NAMES,
    FileKind,
    import_files,
    layout_rows,
    template_csv,
    validate_files,
)
from qbcore.importer.report import (
    ERROR_HEADER,
    KIND_LABELS,
    SUMMARY_HEADER,
    describe_result,
    error_rows,
    errors_csv,
    new_codes,
    summary_rows,
)
from qbcore.labels import plural
from qbcore.models import Role
from qbcore.refusals import Refusal
from ui.feedback import refusal_message
from ui.markup import md, plain, show_alert
from ui.runtime import get_actor, get_runtime, show_actor_badge

st.set_page_config(page_title="Import · QuickBooks Sync Console", page_icon="📥", layout="wide")

REPORT_KEY = "imp_report"  # {"fingerprint": str, "result": ImportResult}
CONFIRM_KEY = "imp_confirm"
FLASH_KEY = "imp_flash"
LAYOUT_ROW_PX = 35  # Streamlit's row height: every row of a layout table in view
UPLOAD_KEYS = {kind: f"imp_file_{kind.value}" for kind in FileKind}
HELP = FILE_ROWS  # what one row of each file is, as its entity's import file says

runtime = get_runtime()
actor = get_actor()
show_actor_badge(actor)


def uploaded_files() -> dict[FileKind, bytes]:
    """The bytes of every file currently in an uploader."""
    files = {}
    for kind, key in UPLOAD_KEYS.items():
        upload = st.session_state.get(key)
        if upload is not None:
            files[kind] = upload.getvalue()
    return files


def fingerprint(files: dict[FileKind, bytes]) -> str:
    """Which files a report belongs to (a new upload makes an old report stale)."""
    digest = hashlib.sha256()
    for kind in sorted(files):
        digest.update(kind.value.encode() + hashlib.sha256(files[kind]).digest())
    return digest.hexdigest()


def validate(files: dict[FileKind, bytes]) -> None:
    """Check the files against the book; nothing is written."""
    with runtime.factory() as session:
        result = validate_files(files, session=session)
    st.session_state[REPORT_KEY] = {"fingerprint": fingerprint(files), "result": result}
    st.session_state.pop(CONFIRM_KEY, None)


def run_import(files: dict[FileKind, bytes]) -> None:
    """Import the confirmed files in one transaction; the outcome shows after the rerun."""
    try:
        with transaction(runtime.factory) as session:
            result = import_files(files, session=session, actor=actor)
    except Refusal as refusal:
        st.session_state[FLASH_KEY] = refusal_message(refusal)
        return
    finally:
        st.session_state.pop(CONFIRM_KEY, None)
    if result.written:
        st.session_state[FLASH_KEY] = ("success", "Imported. " + "; ".join(describe_result(result)) + ".")
        st.session_state.pop(REPORT_KEY, None)
    else:
        # The book changed since validation (someone else imported): show the new findings.
        st.session_state[REPORT_KEY] = {"fingerprint": fingerprint(files), "result": result}


st.title("Import a book")
st.caption("Load customers, invoices (with their loads and charges), payments and credit memos, and the payables "
           "(drivers, fleet owners and carriers, driver settlements and carrier bills) from your TMS's "
           "CSV exports. Every row is checked first; nothing is written unless every file is valid. Importing "
           "the same files again changes nothing; a changed row updates its record.")

flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    show_alert(*flash)

st.subheader("File layout")
st.caption("One CSV per kind, UTF-8, with a header row (column names in any case and order; columns not listed "
           "are ignored). Dates as YYYY-MM-DD or MM/DD/YYYY; amounts in dollars with cents, never negative. Unknown "
           "charge codes are created; map them to QuickBooks items in Settings. Unknown pay and deduction codes are "
           "created too; map them to expense accounts in Settings → Pay codes. Open a file kind for its columns "
           "and a template with an example row.")
# The tables come from the layout the importer checks against, so the page cannot drift from it.
for kind in FileKind:
    required = sum(1 for c in COLUMNS[kind] if c.required)
    with st.expander(md("{label} ({name}) · {columns}, {required} required", label=FILE_LABELS[kind],
                        name=TEMPLATE_NAMES[kind], columns=plural(len(COLUMNS[kind]), "column"),
                        required=required)):
        st.markdown(plain(HELP[kind]))
        table = pd.DataFrame(layout_rows(kind), columns=list(LAYOUT_HEADER))
        # A grid cell never wraps, so the notes (whole sentences) are listed below the table instead of cut off.
        # Fixed widths that fit the longest format and example at 1280 px (sized by the grid, long ones were cut).
        st.dataframe(table.drop(columns="Notes"), hide_index=True, width="content", key=f"imp_layout_{kind.value}",
                     height=LAYOUT_ROW_PX * (len(table) + 1) + 3,
                     column_config={"Column": st.column_config.Column(width=155),
                                    "Required": st.column_config.Column(width=75),
                                    "Format": st.column_config.Column(width=300),
                                    "Example": st.column_config.Column(width=225)})
        for name, note in zip(table["Column"], table["Notes"], strict=True):
            if note:
                st.markdown(md("- **{name}**: {note}", name=name, note=note))
        st.download_button(md("Download the {} template", FILE_LABELS[kind].lower()), template_csv(kind),
                           file_name=TEMPLATE_NAMES[kind], mime="text/csv", key=f"imp_template_{kind.value}",
                           on_click="ignore")

st.subheader("1 · Upload")
upload_cols = st.columns(2)
for i, kind in enumerate(FileKind):
    upload_cols[i % 2].file_uploader(md("{label} ({name})", label=FILE_LABELS[kind], name=TEMPLATE_NAMES[kind]),
                                     type=["csv"], key=UPLOAD_KEYS[kind], help=HELP[kind])

files = uploaded_files()
report = st.session_state.get(REPORT_KEY)
if report is not None and files and report["fingerprint"] != fingerprint(files):
    report = None  # the uploads changed after the last validation

st.subheader("2 · Validate")
if st.button("Validate", key="imp_validate", type="primary", disabled=not files,
             help="Check every row against the layout and the book; writes nothing"):
    validate(files)
    report = st.session_state[REPORT_KEY]
if not files:
    st.info("Upload at least one file to validate it.")

if report is not None:
    result = report["result"]
    if not result.is_valid:
        more = result.error_count - len(result.errors)
        st.error(md("{count} found; nothing can be imported until they are fixed.{listed}",
                    count=plural(result.error_count, "error"),
                    listed=f" The first {len(result.errors)} are listed." if more else ""))
        st.dataframe(pd.DataFrame(error_rows(result), columns=list(ERROR_HEADER)), hide_index=True,
                     width="stretch", key="imp_errors")
        st.download_button("Download the errors (CSV)", errors_csv(result), file_name="import-errors.csv",
                           mime="text/csv", key="imp_errors_csv", on_click="ignore")
    else:
        st.success("Every row is valid. This is what an import will do:")
        st.dataframe(pd.DataFrame(summary_rows(result), columns=list(SUMMARY_HEADER)), hide_index=True,
                     width="stretch", key="imp_summary")
        if result.created_charge_codes:
            st.caption(md("New charge codes will be created (map them to QuickBooks items in Settings): {}",
                          ", ".join(result.created_charge_codes)))
        for code_kind, where, codes in new_codes(result):
            st.caption(md("New {label} will be created ({where}): {codes}", label=KIND_LABELS[code_kind], where=where,
                          codes=codes))
        for kind, columns in result.ignored_columns.items():
            st.caption(md("{kind}: columns not in the layout are ignored: {columns}", kind=kind,
                          columns=", ".join(columns)))

        st.subheader("3 · Import")
        may_import = is_allowed(actor, Role.OPERATOR)
        if not may_import:
            st.caption("Importing needs the operator role; ask an operator or an admin.")
        changes = sum(s.created + s.updated for s in result.summary.values())
        if st.button("Import…", key="imp_import", disabled=not may_import or changes == 0,
                     help="Asks for confirmation first"):
            st.session_state[CONFIRM_KEY] = True
        if changes == 0:
            st.caption("Nothing to import: the book already matches these files.")
        if st.session_state.get(CONFIRM_KEY):
            out_of_date = sum(s.out_of_date for s in result.summary.values())
            one = out_of_date == 1
            more = (f" {out_of_date:,} of them {'is' if one else 'are'} already in QuickBooks and will be marked out "
                    f"of date, so the next sync updates {'it' if one else 'them'} there." if out_of_date else "")
            st.warning(md("Import {changes} into the book in one transaction?{more}",
                          changes=plural(changes, "new or changed record"), more=more))
            confirm_col, cancel_col = st.columns(2)
            if confirm_col.button("Confirm import", key="imp_confirm_yes", type="primary"):
                run_import(files)
                st.rerun()
            if cancel_col.button("Cancel", key="imp_confirm_no"):
                st.session_state.pop(CONFIRM_KEY, None)
                st.rerun()
