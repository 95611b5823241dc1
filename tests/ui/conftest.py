"""AppTest fixtures: every page runs against the test database, without background services."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Iterator[str]:
    """Point the console at the test database; no sandbox or worker threads in page tests."""
    from ui.runtime import close_databases

    monkeypatch.setenv("QBSYNC_DATABASE_URL", db_url)
    monkeypatch.setenv("QBSYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QBSYNC_BACKGROUND", "off")
    monkeypatch.setenv("QBSYNC_DEMO_INVOICES", "0")
    yield db_url
    # Each test's database gets its own cached engine; close it so PostgreSQL's connection slots last.
    close_databases()


@pytest.fixture
def home(app_env: str) -> AppTest:
    """Home.py, ready to run."""
    return AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)


def open_page(at: AppTest, page: str, actor: dict[str, str] | None = None) -> AppTest:
    """Run Home once, then switch to a page (optionally as another user)."""
    if actor is not None:
        at.session_state["qbsync_actor"] = actor
    at.run()
    at.switch_page(str(ROOT / "pages" / page)).run()
    return at


def tick_rows(at: AppTest, ids: Iterable[int]) -> None:
    """Tick these records in the page's grid, as clicks in the browser do: the grid sends back its rows' keys."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    from ui.grid import ROW_KEY

    grid = at.get("component_instance")[0]
    rows = convert_arrow_bytes_to_pandas_df(grid.proto.special_args[0].arrow_dataframe.data.data)
    keys = dict(zip(rows["id"].astype(int), rows[ROW_KEY], strict=True))
    wanted = [int(i) for i in ids]
    missing = [i for i in wanted if i not in keys]
    assert not missing, f"records {missing} are not rows of the grid, so they cannot be ticked"
    at.session_state[grid.key] = {"selected": [keys[i] for i in wanted]}
