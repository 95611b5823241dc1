"""The one AgGrid wrapper: a window of rows with checkbox selection that returns only ids (filters are opt-in)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from st_aggrid import AgGrid, DataReturnMode, JsCode

ColumnKind = Literal["text", "number", "money", "date", "long_text"]

# Each row's identity in the grid: what the rows are (their scope: a tab, a generation) and the record's id. A page
# may keep one grid, and its browser frame, across tabs and actions (a new frame costs about a second to load): with
# rows known by scope and id, a tick never stays on a row that now holds another record, and a tick sent for the
# rows of another tab is dropped.
ROW_KEY = "_row"

# The only JavaScript we ship, four fixed functions. One names each row by its ROW_KEY. One sends back the keys of
# the selected rows: the default return mode sends every row node on every click, which breaks Streamlit's message
# limit near 75k rows. One sends nothing for a selection change that was not a click.
_ROW_ID = JsCode("function(params) { return String(params.data._row); }")
# A selection the grid itself drops because its rows were replaced (another tab, a filter, an action) is not a
# click: sending it would start a second run that races the user's next click (a tab switch was lost to it).
_RETURN_ON_CLICKS_ONLY = JsCode("function(params) { return params.eventData.source !== 'rowDataChanged'; }")
_RETURN_SELECTED_IDS = JsCode(
    "function(params) { return {selected: params.eventData.api.getSelectedRows().map(r => r._row)}; }"
)
# The other writes an amount as $1,234.56 (-$7,483.00) while the cell keeps the number, so sorting and the
# number filter still work on the value.
MONEY_FORMATTER = JsCode(
    "function(params) { const v = params.value; if (v === null || v === undefined || v === '') { return ''; }"
    " return new Intl.NumberFormat('en-US', {style: 'currency', currency: 'USD'}).format(v); }"
)


@dataclass(frozen=True)
class GridColumn:
    """One column of a grid: the frame's field, its header, how it sorts and filters, and its width."""

    field: str
    header: str
    kind: ColumnKind = "text"
    width: int | None = None
    pinned: bool = False


# A bill's payments entered in QuickBooks (by check or card; a partial one shows): QuickBooks IDs, Problem Sync.
PAID_IN_QUICKBOOKS = GridColumn("paid_in_qbo", "Paid in QuickBooks", "money", width=140)


# Without header filters a column offers no filter icon, no column menu and no floating filter: nothing that
# narrows the rows in the browser alone.
_NO_HEADER_FILTER = {"filter": False, "floatingFilter": False, "suppressHeaderMenuButton": True,
                     "suppressHeaderFilterButton": True, "suppressHeaderContextMenu": True}


def _column_def(column: GridColumn, header_filters: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"field": column.field, "headerName": column.header, "filter": True, "sortable": True,
                            "resizable": True}
    if column.kind in ("number", "money"):
        spec.update(filter="agNumberColumnFilter", type="numericColumn", cellDataType="number")
    if column.kind == "money":
        spec["valueFormatter"] = MONEY_FORMATTER
    elif column.kind == "date":
        spec.update(filter="agDateColumnFilter", cellDataType="dateString")
    else:
        spec.update(filter="agTextColumnFilter", cellDataType="text")
    if not header_filters:
        spec.update(_NO_HEADER_FILTER)
    if column.kind == "long_text":
        spec["tooltipField"] = column.field
    if column.width:
        spec["width"] = column.width
    if column.pinned:
        spec["pinned"] = "left"
    return spec


def grid_options(columns: Sequence[GridColumn], *, header_filters: bool = False) -> dict[str, Any]:
    """AG Grid options: multi-row checkbox selection (header box = this window); column filters only when asked.

    A header filter narrows only the rows in the browser, so a page offers it only where its counts, bulk
    actions and exports follow the same rows; by default the page's own (SQL) filters are the only ones.
    """
    default: dict[str, Any] = {"filter": True, "sortable": True, "resizable": True, "minWidth": 70}
    if not header_filters:
        default.update(_NO_HEADER_FILTER)
    return {
        "columnDefs": [_column_def(c, header_filters) for c in columns],
        "defaultColDef": default,
        "rowSelection": {"mode": "multiRow", "checkboxes": True, "headerCheckbox": True,
                         "enableClickSelection": False, "selectAll": "filtered"},
        # The tick boxes stay first even when a column is pinned left.
        "selectionColumnDef": {"pinned": "left", "width": 48, "maxWidth": 48, "resizable": False},
        "animateRows": False,
        "tooltipShowDelay": 300,
        "enableCellTextSelection": True,
        "getRowId": _ROW_ID,
    }


def row_keys(scope: str, ids: Sequence[int]) -> list[str]:
    """The grid's name for each record of this scope (what a tick sends back)."""
    return [f"{scope}:{record_id}" for record_id in ids]


def selected_ids(response: Any, shown: Sequence[int], scope: str) -> list[int]:
    """The ids the grid reports as ticked, kept only when they are rows of this scope and of this window."""
    value = response.get("selected") if hasattr(response, "get") else None
    if not value:
        return []
    visible = set(shown)
    ids = []
    for item in value:
        if not isinstance(item, str):
            continue
        item_scope, _, tail = item.rpartition(":")
        try:
            record_id = int(tail)
        except ValueError:
            continue
        if item_scope == scope and record_id in visible:
            ids.append(record_id)
    return ids


def show_id_grid(frame: pd.DataFrame, columns: Sequence[GridColumn], *, key: str, scope: str | None = None,
                 height: int = 440, header_filters: bool = False) -> list[int]:
    """Draw rows (the frame needs an integer `id` column) and return the ids of the ticked rows.

    The key keeps the grid's browser frame; the scope (the key, unless given) names what the rows are, so a page
    that shows another tab's rows, or starts a new selection, in the same frame gives a new scope.
    """
    scope = scope or key
    shown = [int(i) for i in frame["id"].tolist()]
    response = AgGrid(
        frame.assign(**{ROW_KEY: row_keys(scope, shown)}),  # a copy: AgGrid adds a column to the frame it is given
        gridOptions=grid_options(columns, header_filters=header_filters),
        height=height,
        key=key,
        data_return_mode=DataReturnMode.CUSTOM,
        custom_jscode_for_grid_return=_RETURN_SELECTED_IDS,
        should_grid_return=_RETURN_ON_CLICKS_ONLY,
        update_on=["selectionChanged"],
        # No toolbar: it floats over the right-hand column headers (at 1280 px it hid "Date" and "QB id"),
        # and its quick search filtered only the rows in this window while the page counts every match in SQL.
        # The page's own search and filters above the grid do that job.
        show_toolbar=False,
        show_search=False,
        show_download_button=False,
        theme="streamlit",
    )
    return selected_ids(response, shown, scope)
