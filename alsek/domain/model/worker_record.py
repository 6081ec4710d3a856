"""What a live worker says about itself in the worker registry: a heartbeat record.

Every consuming process (a process pool's supervisor, each process group of a thread pool)
rewrites its :class:`WorkerRecord` every couple of seconds with a time to live a few times that
interval, so a worker that dies disappears from the registry on its own. Records travel as plain
dicts (:meth:`WorkerRecord.to_dict` / :meth:`WorkerRecord.from_dict`), which every serializer
encodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from attrs import field, frozen

#: Short-name prefix of the registry's records in a key-value store.
REGISTRY_PREFIX = "workers:"
#: How often (ms) a worker rewrites its record by default.
DEFAULT_HEARTBEAT_MS = 2_000
#: How long (ms) a record lives without a heartbeat by default (three heartbeats).
DEFAULT_RECORD_TTL_MS = 6_000


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _runs(values: Any) -> tuple[RunningMessage, ...]:
    return tuple(values)


def record_name(worker_id: str) -> str:
    """The short name of the record of ``worker_id``."""
    return f"{REGISTRY_PREFIX}{worker_id}"


@frozen(kw_only=True)
class RunningMessage:
    """A message a worker is running.

    Attributes:
        uuid: the message's uuid.
        task: its task's name.
        queue: its queue.
        started_ms: when its run began (ms since the epoch).
    """

    uuid: str
    task: str
    queue: str
    started_ms: int


@frozen(kw_only=True)
class WorkerCounters:
    """What a worker process has done since it started.

    Attributes:
        processed: runs that ended (succeeded, failed, retried or deferred).
        succeeded: runs acknowledged with a result.
        failed: messages failed (to the dead letter queue when enabled).
        retried: messages given back for a retry.
    """

    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0


@frozen(kw_only=True)
class WorkerRecord:
    """One live worker process, as the registry keeps it.

    Attributes:
        id: ``<host>:<pid>``, unique while the process lives.
        kind: ``"process-pool"`` (a process pool's supervisor) or ``"thread-group"`` (one
            process group of a thread pool).
        host: the machine's host name.
        pid: the process id.
        pool_pid: the pool supervisor's pid (the process itself for a process pool).
        version: the alsek version it runs.
        queues: the queues it consumes, most preferred first.
        tasks: the names of the tasks it runs.
        concurrency: how many messages it may run at once.
        started_ms: when it started (ms since the epoch).
        seen_ms: when it wrote this record (ms since the epoch).
        heartbeat_ms: how often it rewrites the record.
        running: the messages it is running.
        counters: what it has done since it started.
    """

    id: str
    kind: str
    host: str
    pid: int
    pool_pid: int
    version: str
    queues: tuple[str, ...] = field(converter=_strings)
    tasks: tuple[str, ...] = field(converter=_strings)
    concurrency: int
    started_ms: int
    seen_ms: int
    heartbeat_ms: int = DEFAULT_HEARTBEAT_MS
    running: tuple[RunningMessage, ...] = field(default=(), converter=_runs)
    counters: WorkerCounters = WorkerCounters()

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-friendly values."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkerRecord:
        """The record :meth:`to_dict` gave (unknown keys, from a newer version, are ignored).

        Raises:
            TypeError, ValueError, KeyError: if ``data`` is not such a record.
        """
        known = {f.name for f in attrs.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["running"] = tuple(
            RunningMessage(**{k: r[k] for k in ("uuid", "task", "queue", "started_ms")})
            for r in values.get("running", ())
        )
        counters = values.get("counters") or {}
        values["counters"] = WorkerCounters(
            **{k: int(counters.get(k, 0)) for k in ("processed", "succeeded", "failed", "retried")}
        )
        return cls(**values)

    def evolve(self, **changes: Any) -> WorkerRecord:
        """A copy with ``changes``."""
        return attrs.evolve(self, **changes)
