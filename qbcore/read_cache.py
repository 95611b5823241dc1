"""Reads kept until the database changes: a page's rerun with nothing new since reads nothing again.

A commit anywhere (a page's action, the worker, another console) changes the database's version, and every answer
read before it is forgotten. SQLite tells through `PRAGMA data_version` on a connection of its own, which never
writes: the number moves whenever another connection commits. PostgreSQL tells through the current snapshot, which
moves whenever a transaction that wrote begins or ends. A database that can tell neither (an in-memory SQLite
database, a driver that refuses) is read every time.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

# Answers kept per database, the least recently used dropped first: a few pages' worth for a few people and
# companies. Answers read before the last change are dropped as soon as the change is seen.
KEPT = 128


class _Version:
    """One engine's way to tell that its database changed since the last look, and the answers read since."""

    def __init__(self) -> None:
        # The answers read at the version last seen; a new engine for the same URL starts with none. (The engine
        # itself is not kept here: this lives in a weak mapping keyed by it.)
        self.answers: OrderedDict[Hashable, Any] = OrderedDict()
        self.seen: Hashable | None = None
        self._lock = threading.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self._usable = True

    def current(self, engine: Engine) -> Hashable | None:
        """A value that differs whenever a commit landed since it was last equal; None when it cannot be told."""
        if not self._usable:
            return None
        try:
            if engine.dialect.name == "sqlite":
                return self._sqlite_version(engine)
            if engine.dialect.name == "postgresql":
                with engine.connect() as connection:
                    snapshot: str = connection.execute(text("SELECT pg_current_snapshot()::text")).scalar_one()
                    return snapshot
        except (sqlite3.Error, DBAPIError):
            return None  # the read itself will say what is wrong; this look is tried again next time
        self._usable = False
        return None

    def _sqlite_version(self, engine: Engine) -> int | None:
        database = engine.url.database
        if not database or database == ":memory:" or engine.url.query:
            self._usable = False  # each connection of an in-memory database is its own database
            return None
        with self._lock:
            if self._sqlite is None:
                if not Path(database).exists():
                    return None  # not made yet: connecting would create an empty file
                self._sqlite = sqlite3.connect(database, check_same_thread=False)
            return int(self._sqlite.execute("PRAGMA data_version").fetchone()[0])


_versions: WeakKeyDictionary[Engine, _Version] = WeakKeyDictionary()
_lock = threading.Lock()


def _version_of(engine: Engine) -> _Version:
    with _lock:
        version = _versions.get(engine)
        if version is None:
            version = _versions[engine] = _Version()
        return version


def read_once(factory: sessionmaker[Session], key: Hashable, read: Callable[[Session], T]) -> T:
    """read(session) on a fresh session, or its answer from the last time, when nothing was committed since.

    The key names the read and every input it depends on. Answers are shared by every session of the process and
    must not be changed by whoever gets them. Today's date is part of the key, for answers counted in days.
    """
    engine = factory.kw["bind"]
    version = _version_of(engine)
    now = version.current(engine)
    if now is None:
        with factory() as session:
            return read(session)
    full_key = (date.today(), key)
    with _lock:
        if now != version.seen:
            version.answers.clear()
            version.seen = now
        elif full_key in version.answers:
            version.answers.move_to_end(full_key)
            return version.answers[full_key]  # type: ignore[no-any-return]
    with factory() as session:
        answer = read(session)
    with _lock:
        if now == version.seen:  # not when a newer version was seen meanwhile: this answer may predate it
            version.answers[full_key] = answer
            while len(version.answers) > KEPT:
                version.answers.popitem(last=False)
    return answer


def database_version(engine: Engine) -> Hashable | None:
    """A value that stays equal while nothing is committed to the engine's database; None when it cannot be told."""
    return _version_of(engine).current(engine)


def forget_all() -> None:
    """Drop every kept answer, as a commit would (benches time a page's reads after a change this way)."""
    with _lock:
        for version in _versions.values():
            version.answers.clear()
