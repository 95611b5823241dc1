"""The one chunking helper: every value once, in order, in pieces no bigger than asked."""

import pytest

from qbcore.chunks import SQL_IN_CHUNK, chunked


@pytest.mark.parametrize(("count", "size", "lengths"), [
    (0, 3, []), (1, 3, [1]), (3, 3, [3]), (7, 3, [3, 3, 1]), (1801, SQL_IN_CHUNK, [900, 900, 1]),
])
def test_pieces_keep_every_value_in_order(count, size, lengths):
    pieces = list(chunked(range(count), size))
    assert [len(p) for p in pieces] == lengths
    assert [v for p in pieces for v in p] == list(range(count))


def test_a_generator_is_read_once_and_a_bad_size_is_refused():
    assert list(chunked((v for v in "abcde"), 2)) == [["a", "b"], ["c", "d"], ["e"]]
    with pytest.raises(ValueError, match="at least 1"):
        list(chunked([1], 0))
