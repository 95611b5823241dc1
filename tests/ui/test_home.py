"""Home renders the book and says what to do when it is empty."""

from markdown_it import MarkdownIt

from qbcore.queries.book import count_book
from ui.markup import unescape_markdown


def test_home_shows_the_demo_book_counts_without_exception(home, demo_factory):
    home.run()
    assert not home.exception
    metrics = {m.label: m.value for m in home.metric}
    with demo_factory() as session:
        expected = {c.entity: f"{c.count:,}" for c in count_book(session)}
    assert {k: metrics[k] for k in expected} == expected
    assert "Local admin" in " ".join(c.value for c in home.sidebar.caption)


def test_home_on_an_empty_book_says_how_to_fill_it(home, factory):
    home.run()
    assert not home.exception
    assert any("qbsync demo" in i.value for i in home.info)


def _connect(factory, company="Sandbox Company_US_1"):
    from datetime import timedelta

    from qbcore.db import transaction
    from qbcore.models import ConnectionStatus, QboConnection, utcnow

    with transaction(factory) as session:
        session.add(QboConnection(realm_id="9341455130166501", environment="local", company_name=company,
                                  status=ConnectionStatus.CONNECTED, access_expires_at=utcnow() + timedelta(hours=1),
                                  refresh_expires_at=utcnow() + timedelta(days=100)))


def test_home_says_how_much_waits_while_quickbooks_is_not_connected(home, demo_factory):
    home.run()
    warning = " ".join(w.value for w in home.warning)
    assert "not connected" in warning
    with demo_factory() as session:
        from qbcore.queries.health import count_waiting

        waiting = count_waiting(session)
    assert f"{waiting:,} records are waiting" in warning


def test_sync_everything_queues_one_job_for_every_waiting_record(home, demo_factory):
    from sqlalchemy import select

    from qbcore.models import AuditEvent, Job, SyncRecord

    _connect(demo_factory)
    home.run()
    assert any("**Sandbox Company\\_US\\_1**" in m.value for m in home.markdown)
    home.button(key="sync_all").click().run()
    with demo_factory() as session:
        assert session.scalar(select(Job)) is None  # nothing queued before the confirmation
    assert any("This queues" in m.value for m in home.markdown)  # the confirmation is open
    home.button(key="sync_all_confirm").click().run()
    assert not home.exception
    with demo_factory() as session:
        job = session.scalar(select(Job))
        records = session.scalar(select(__import__("sqlalchemy").func.count()).select_from(SyncRecord))
        audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "resync"))
    assert job.total == records and job.created_by == "local-admin@localhost"
    assert audit.target_id == str(job.id)
    assert any(f"job #{job.id}" in s.value for s in home.success)


def test_a_viewer_cannot_queue_a_sync_and_is_told_why(home, demo_factory):
    from sqlalchemy import func, select

    from qbcore.models import AuditEvent, Job

    _connect(demo_factory)
    home.session_state["qbsync_actor"] = {"email": "viewer@example.com", "role": "viewer"}
    home.run()
    home.button(key="sync_all").click().run()
    home.button(key="sync_all_confirm").click().run()
    assert any("needs the operator role" in e.value for e in home.error)
    with demo_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
        refusal = session.scalar(select(AuditEvent))
    assert (refusal.actor, refusal.outcome) == ("viewer@example.com", "refused")


def test_a_company_name_with_markdown_renders_as_plain_text(home, demo_factory):
    _connect(demo_factory, company="Evil ![x](http://example.invalid/p.png) [click](javascript:alert(1))")
    home.run()
    company = next(m.value for m in home.markdown if m.value.startswith("Connected to"))
    tokens = [c.type for t in MarkdownIt("commonmark").parse(company) for c in t.children or []]
    assert "link_open" not in tokens and "image" not in tokens
    assert "Evil ![x](http://example.invalid/p.png) [click](javascript:alert(1))" in unescape_markdown(company)



def test_sync_all_asks_first_and_cancel_queues_nothing(home, demo_factory):
    from sqlalchemy import func, select

    from qbcore.models import Job
    from qbcore.queries.health import count_waiting

    _connect(demo_factory)
    home.run()
    home.button(key="sync_all").click().run()
    with demo_factory() as session:
        waiting = count_waiting(session)
    assert f"This queues **{waiting:,} records** for QuickBooks" in " ".join(m.value for m in home.markdown)
    home.button(key="sync_all_cancel").click().run()
    assert not home.exception
    with demo_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_the_queued_sync_and_its_result_show_on_home_in_words(home, demo_factory):
    from sqlalchemy import select

    from qbcore.models import Job, JobStatus

    _connect(demo_factory)
    home.run()
    home.button(key="sync_all").click().run()
    home.button(key="sync_all_confirm").click().run()
    with demo_factory() as session:
        job = session.scalar(select(Job))
    assert any(f"Job #{job.id} (Sync all open records (Home)): 0 of {job.total:,}" in unescape_markdown(p.proto.text)
               for p in home.get("progress"))
    recent = home.dataframe[0].value
    assert recent.loc[0, "Status"] == "Queued"
    from qbcore.db import transaction

    with transaction(demo_factory) as session:  # what the worker leaves behind
        row = session.get(Job, job.id)
        row.status, row.done, row.succeeded, row.failed = JobStatus.DONE, row.total, row.total - 3, 3
    home.run()
    assert f"Job #{job.id} done: {job.total - 3:,} synced, 3 failed or blocked — see Problem Sync." in [
        unescape_markdown(w.value) for w in home.warning]
    assert home.dataframe[0].value.loc[0, "Status"] == "Done"


def test_the_first_start_says_what_the_console_is_doing(home, factory, monkeypatch):
    monkeypatch.setenv("QBSYNC_DEMO_INVOICES", "30")
    home.run()
    assert not home.exception
    status = home.status[0]
    assert status.label == "The console is ready." and status.state == "complete"
    said = " ".join(m.value for m in status.markdown)
    assert "Preparing the database" in said and "Writing the demo billing book (30 invoices)" in said
    home.run()
    assert len(home.status) == 0  # only the first run of a process shows it


def _charts(at):
    import json

    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        frames = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
        yield spec, frames


def test_charts_speak_words_and_synced_is_the_same_green_in_every_chart(home, demo_factory):
    from sqlalchemy import select

    from qbcore.db import transaction
    from qbcore.models import SyncAttempt, SyncRecord

    with transaction(demo_factory) as session:
        ids = list(session.scalars(select(SyncRecord.id).limit(3)))
        session.add_all([SyncAttempt(sync_record_id=ids[0], outcome="synced"),
                         SyncAttempt(sync_record_id=ids[1], outcome="failed", error_kind="closed_period"),
                         SyncAttempt(sync_record_id=ids[2], outcome="failed")])
    home.run()
    greens = []
    for spec, frames in _charts(home):
        shown = " ".join(frame.to_csv() for frame in frames) + json_text(spec)
        for word in ("never_synced", "out_of_date", "paid_outside", "closed_period", "OTHER"):
            assert word not in shown
        scale = spec.get("encoding", {}).get("color", {}).get("scale")
        if scale and "Synced" in scale.get("domain", []):
            greens.append(scale["range"][scale["domain"].index("Synced")])
    assert greens == ["#2CA01C", "#2CA01C"]  # the status chart and the attempts chart


def json_text(spec) -> str:
    import json

    return json.dumps({k: v for k, v in spec.items() if k != "datasets"})


def test_a_finished_job_with_nothing_to_do_shows_as_complete_not_at_zero(home, demo_factory):
    from qbcore.db import transaction
    from qbcore.models import Job, JobStatus

    with transaction(demo_factory) as session:  # a pull that found no change
        session.add(Job(kind="pull", status=JobStatus.DONE, total=0, done=0, succeeded=0, failed=0,
                        created_by="system@qbsync", params={"label": "Pull changes from QuickBooks"}))
    home.run()
    assert not home.exception
    recent = home.dataframe[0].value
    assert recent.loc[0, "Status"] == "Done" and recent.loc[0, "Progress"] == 1.0
