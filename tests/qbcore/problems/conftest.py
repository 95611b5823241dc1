"""A demo book with a problem list on it."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from qbcore.db import transaction
from tests.qbcore.problems.problem_data import ProblemBook, seed_problems


@pytest.fixture
def problem_book(demo_factory: sessionmaker[Session]) -> ProblemBook:
    """The demo book with 24 invoice problems, 3 payment, 2 customer and 1 credit-memo problem."""
    with transaction(demo_factory) as session:
        return seed_problems(session)
