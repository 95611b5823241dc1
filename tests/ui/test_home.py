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
    assert any("needs the operator role" in e.value for e in home.error)
    with demo_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
        refusal = session.scalar(select(AuditEvent))
    assert (refusal.actor, refusal.outcome) == ("viewer@example.com", "refused")


def test_a_company_name_with_markdown_renders_as_plain_text(home, demo_factory):
    _connect(demo_factory, company="Evil ![x](http://example.invalid/p.png) [click](javascript:alert(1))")
    home.run()
    company = next(m.value for m in home.markdown if m.value.startswith("Company"))
    tokens = [c.type for t in MarkdownIt("commonmark").parse(company) for c in t.children or []]
    assert "link_open" not in tokens and "image" not in tokens
    assert "Evil ![x](http://example.invalid/p.png) [click](javascript:alert(1))" in unescape_markdown(company)
