"""One run's state, built once by the engine and handed to each step: where to write, whom to call, what to count."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from qbcore.errors import QboError
from qbcore.models import EntityType
from qbcore.qbo.gateway import QboGateway
from qbcore.settings import SyncSettings
from qbcore.sync.context import NameLists
from qbcore.sync.steps import Send, record_failed
from qbcore.sync.summary import Tally


@dataclass(frozen=True)
class Run:
    """What every step of one sync run reads: the database, the company, the settings, its name lists and tally."""

    factory: sessionmaker[Session]
    gateway: QboGateway
    settings: SyncSettings
    lists: NameLists
    tally: Tally
    stop_event: threading.Event
    job_id: int | None = None
    concurrency: int = 4

    @property
    def company_id(self) -> int:
        """The company this run posts to (its gateway's)."""
        return self.gateway.company_id

    def fail_send(self, send: Send, error: QboError, request: str | None = None,
                  response: str | None = None) -> None:
        """Record a failed attempt and count it."""
        record_failed(self.factory, send, error, job_id=self.job_id, request=request, response=response)
        self.tally.add("failed", error.kind.value)

    def fail(self, record_id: int, error: QboError) -> None:
        """Fail a record that never became a Send (its billing row is gone)."""
        self.fail_send(Send(record_id=record_id, entity_type=EntityType.CUSTOMER, entity_id=0, name="", payload={},
                            payload_hash=""), error)
