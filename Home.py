"""Home: the book at a glance, the QuickBooks connection and sync health."""

import altair as alt
import pandas as pd
import streamlit as st

from qbcore.queries.book import count_book, list_monthly_totals
from ui.runtime import get_actor, get_runtime, show_actor_badge

st.set_page_config(page_title="QuickBooks Sync Console", page_icon="🔄", layout="wide")

runtime = get_runtime()
actor = get_actor()
show_actor_badge(actor)

st.title("QuickBooks Sync Console")
st.caption("Keeps the billing book — customers, invoices, payments, credit memos — in step with QuickBooks Online.")

with runtime.factory() as session:
    counts = count_book(session)
    monthly = list_monthly_totals(session)

st.subheader("The billing book")
if all(c.count == 0 for c in counts):
    st.info("The book is empty. Load your customers and invoices (qbsync import) or write a demo book "
            "with `qbsync demo --invoices 2000`.")
else:
    columns = st.columns(len(counts))
    for column, count in zip(columns, counts, strict=True):
        column.metric(count.entity, f"{count.count:,}", help=None if count.total is None else f"${count.total:,.2f}")
    totals = pd.DataFrame(
        [{"Entity": c.entity, "Records": c.count, "Total ($)": float(c.total)} for c in counts if c.total is not None]
    )
    st.dataframe(totals, hide_index=True, column_config={"Total ($)": st.column_config.NumberColumn(format="$%.2f")})
    if not monthly.empty:
        chart = (
            alt.Chart(monthly)
            .mark_bar()
            .encode(
                x=alt.X("month:N", title="Month"),
                y=alt.Y("total:Q", title="Dollars"),
                color=alt.Color("entity:N", title=""),
                xOffset="entity:N",
                tooltip=["month", "entity", "count", alt.Tooltip("total:Q", format="$,.2f")],
            )
            .properties(height=280)
        )
        st.altair_chart(chart, use_container_width=True)
