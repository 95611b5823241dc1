"""Home renders the book and says what to do when it is empty."""

from qbcore.queries.book import count_book


def test_home_shows_the_demo_book_counts_without_exception(home, demo_factory):
    home.run()
    assert not home.exception
    metrics = {m.label: m.value for m in home.metric}
    with demo_factory() as session:
        expected = {c.entity: f"{c.count:,}" for c in count_book(session)}
    assert metrics == expected
    assert "Local admin" in " ".join(c.value for c in home.sidebar.caption)


def test_home_on_an_empty_book_says_how_to_fill_it(home, factory):
    home.run()
    assert not home.exception
    assert any("qbsync demo" in i.value for i in home.info)
