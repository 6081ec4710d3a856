"""What a worker process counts about its runs, and who else hears of them.

Each executor tells the process's :class:`WorkStats` when a run starts and how it ends; the
stats keep the counters the worker registry publishes, and pass each event on to observers (the
Prometheus metrics, when enabled). On the hot path that is one lock and a few additions per run.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from alsek.domain.model.message import Message
from alsek.domain.model.worker_record import WorkerCounters
from alsek.domain.services.processing import Settlement, Verdict

log = logging.getLogger("alsek.worker")

#: How a run ended, by verdict, as observers and counters name it.
OUTCOME_OF = {
    Verdict.ACK: "succeeded",
    Verdict.RETRY: "retried",
    Verdict.FAIL: "failed",
    Verdict.DEFER: "deferred",
}


def _revoked(message: Message) -> bool:
    return (message.exception_details or {}).get("name") == "RevokedError"


class RunObserver(Protocol):
    """Hears of every run of a worker process."""

    def started(self, task: str, queue: str) -> None:
        """A run of ``task`` from ``queue`` began."""
        ...

    def finished(self, task: str, queue: str, outcome: str, runtime_s: float | None) -> None:
        """A run ended: ``outcome`` is ``succeeded``, ``failed``, ``revoked``, ``retried``,
        ``deferred`` or ``released`` (given back unsettled: a stop, a lost process);
        ``runtime_s`` is None when unknown."""
        ...


class WorkStats:
    """Thread-safe counters of one worker process's runs, and its observers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {"processed": 0, "succeeded": 0, "failed": 0, "retried": 0}
        self.observers: list[RunObserver] = []

    def started(self, message: Message) -> None:
        """A run of ``message`` began."""
        for observer in self.observers:
            try:
                observer.started(message.task_name, message.queue or "")
            except Exception:  # an observer never breaks a run
                log.exception("A run observer failed.")

    def finished(
        self, message: Message, settlement: Settlement | None, runtime_s: float | None
    ) -> None:
        """The run of ``message`` ended with ``settlement`` (None: released unsettled). A
        revoked message is ``revoked`` to observers, and failed in the counters (it is in the
        dead letter queue)."""
        outcome = "released" if settlement is None else OUTCOME_OF[settlement.verdict]
        if settlement is not None:
            if outcome == "failed" and _revoked(settlement.message):
                outcome = "revoked"
            with self._lock:
                self._counts["processed"] += 1
                counted = "failed" if outcome == "revoked" else outcome
                if counted in self._counts:
                    self._counts[counted] += 1
        for observer in self.observers:
            try:
                observer.finished(message.task_name, message.queue or "", outcome, runtime_s)
            except Exception:
                log.exception("A run observer failed.")

    def counters(self) -> WorkerCounters:
        """The counters so far."""
        with self._lock:
            return WorkerCounters(**self._counts)
