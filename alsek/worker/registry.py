"""A worker process's entry in the worker registry, kept fresh by a heartbeat thread.

:class:`Heartbeat` rewrites the process's
:class:`~alsek.domain.model.worker_record.WorkerRecord` every ``interval_ms`` (one SET with an
expiry: half a Redis command per second at the default 2 s) with a time to live of three
intervals, and deletes it on a graceful stop. A process killed outright stops rewriting it and
drops out of the registry once the record expires. A registry write that fails is logged and
retried at the next beat: the registry never gets in the way of running tasks.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from importlib import metadata

from attrs import frozen

from alsek.domain.model.errors import BackendError
from alsek.domain.model.worker_record import (
    DEFAULT_HEARTBEAT_MS,
    RunningMessage,
    WorkerRecord,
)
from alsek.domain.services.worker_registry import WorkerRegistry
from alsek.ports.keyvalue import KeyValueStore
from alsek.worker.leases import RunTable
from alsek.worker.stats import WorkStats

log = logging.getLogger("alsek.worker")


def alsek_version() -> str:
    """The installed alsek's version (``"unknown"`` when it is not installed)."""
    try:
        return metadata.version("alsek")
    except metadata.PackageNotFoundError:
        return "unknown"


@frozen(kw_only=True)
class Identity:
    """What a worker process is, for its registry record.

    Attributes:
        kind: ``"process-pool"`` or ``"thread-group"``.
        queues: the queues it consumes.
        tasks: the task names it runs.
        concurrency: how many messages it may run at once.
        pool_pid: the pool supervisor's pid (None: this process).
    """

    kind: str
    queues: Sequence[str]
    tasks: Sequence[str]
    concurrency: int
    pool_pid: int | None = None


class Heartbeat:
    """Keeps this process's record in the registry of ``store`` while it runs.

    Args:
        store: the backend the pool works on.
        identity: what this worker is.
        runs: the messages it is running.
        stats: its counters.
        interval_ms: how often the record is rewritten.
        ttl_ms: how long a record lives without a rewrite (default three intervals).
    """

    def __init__(
        self,
        store: KeyValueStore,
        identity: Identity,
        runs: RunTable,
        stats: WorkStats,
        *,
        interval_ms: int = DEFAULT_HEARTBEAT_MS,
        ttl_ms: int | None = None,
    ) -> None:
        self.registry = WorkerRegistry(store)
        self.clock = store.clock
        self.identity = identity
        self.runs = runs
        self.stats = stats
        self.interval_ms = interval_ms
        self.ttl_ms = 3 * interval_ms if ttl_ms is None else ttl_ms
        self.pid = os.getpid()
        self.worker_id = f"{socket.gethostname()}:{self.pid}"
        self.started_ms = self.clock.now_ms()
        self._version = alsek_version()
        self._stop = threading.Event()
        self._failing = False
        self._thread = threading.Thread(target=self._main, name="alsek-registry", daemon=True)

    @classmethod
    def optional(
        cls,
        store: KeyValueStore,
        identity: Identity | None,
        runs: RunTable,
        stats: WorkStats,
        interval_ms: int,
    ) -> Heartbeat | None:
        """A heartbeat, or None when there is no identity or ``interval_ms`` is 0 (off)."""
        if identity is None or interval_ms <= 0:
            return None
        return cls(store, identity, runs, stats, interval_ms=interval_ms)

    def record(self) -> WorkerRecord:
        """The record as of now."""
        identity = self.identity
        return WorkerRecord(
            id=self.worker_id, kind=identity.kind, host=socket.gethostname(), pid=self.pid,
            pool_pid=identity.pool_pid or self.pid, version=self._version,
            queues=tuple(identity.queues), tasks=tuple(identity.tasks),
            concurrency=identity.concurrency, started_ms=self.started_ms,
            seen_ms=self.clock.now_ms(), heartbeat_ms=self.interval_ms,
            running=tuple(
                RunningMessage(
                    uuid=r.message.uuid or "", task=r.message.task_name, queue=r.message.queue or "",
                    started_ms=r.deadline_ms - r.message.timeout,
                )
                for r in self.runs.snapshot()
            ),
            counters=self.stats.counters(),
        )  # fmt: skip

    def start(self) -> None:
        """Start rewriting the record (the first write happens at once)."""
        self._thread.start()

    def beat(self) -> None:
        """Write the record now; a failure is logged (once until a write succeeds again)."""
        try:
            self.registry.beat(self.record(), ttl_ms=self.ttl_ms)
        except BackendError as error:
            if not self._failing:
                log.warning("Cannot write this worker's registry record (%s); retrying.", error)
            self._failing = True
            return
        if self._failing:
            log.info("Registry record written again.")
        self._failing = False

    def _main(self) -> None:
        while not self._stop.is_set():
            self.beat()
            self._stop.wait(self.interval_ms / 1000)

    def stop(self) -> None:
        """Stop the heartbeat and delete the record (a graceful stop)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        try:
            self.registry.remove(self.worker_id)
        except BackendError as error:
            log.warning("Cannot delete this worker's registry record (%s); it expires in %s ms.",
                        error, self.ttl_ms)  # fmt: skip
