"""The messages a worker process holds: the runs in progress, and giving leases back.

A :class:`Running` is one leased message being run: what the watchdog renews, times out and
revokes. A thread group keeps its runs in a :class:`RunTable` (its worker threads add and drop
them, its watchdog reads them); a process pool's supervisor keeps one for its dispatchers.
:func:`release_quietly` gives messages back to their queues at once, for another worker to take.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Sequence
from typing import Any

from attrs import define

from alsek.domain.model.errors import BackendError
from alsek.domain.model.message import Message
from alsek.ports.queue import MessageQueue

log = logging.getLogger("alsek.worker")


@define(eq=False)
class Running:
    """A message being run.

    Attributes:
        message: the message (leased by this worker).
        deadline_ms: when its run times out (ms since the epoch).
        key: which executor runs it (a worker thread, a child process slot).
        run: the executor's run number, so a late verdict never hits the next run.
        interrupted_at: when (``time.monotonic()``) an interrupt was sent, if one was.
        interrupt: the exception type sent.
        settling: its run is over and it is being acknowledged, retried or failed.
    """

    message: Message
    deadline_ms: int
    key: Any
    run: int
    interrupted_at: float | None = None
    interrupt: type[BaseException] | None = None
    settling: bool = False


class RunTable:
    """Thread-safe ``key -> Running`` for the messages this process is running."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[Hashable, Running] = {}

    def __len__(self) -> int:
        return len(self._runs)

    def add(self, running: Running) -> None:
        """Record ``running`` under its key."""
        with self._lock:
            self._runs[running.key] = running

    def discard(self, running: Running) -> bool:
        """Forget ``running`` if it is still the run under its key; return whether it was."""
        with self._lock:
            if self._runs.get(running.key) is running:
                del self._runs[running.key]
                return True
            return False

    def snapshot(self) -> list[Running]:
        """Every run in progress."""
        with self._lock:
            return list(self._runs.values())

    def by_uuid(self, uuid: str) -> list[Running]:
        """The runs of message ``uuid`` (normally at most one)."""
        return [r for r in self.snapshot() if r.message.uuid == uuid]


def release_quietly(backend: MessageQueue, messages: Sequence[Message]) -> None:
    """Give ``messages`` back to their queues at once, so that another worker takes them.

    Never raises: when the backend cannot do it, the failure is logged and the messages' leases
    lapse instead (they run again a lease later; nothing is lost).
    """
    if not messages:
        return
    try:
        backend.release(messages)
    except BackendError as error:
        log.warning("Could not release %s message(s) (%s); their leases will lapse.",
                    len(messages), error)  # fmt: skip
        return
    log.debug("Released %s message(s) for other workers.", len(messages))
