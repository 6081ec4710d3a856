"""The worker registry: live workers' heartbeat records in a key-value store.

A worker writes its :class:`~alsek.domain.model.worker_record.WorkerRecord` under
``workers:<host>:<pid>`` (the store's namespace prefixed) with a time to live; it rewrites it every
heartbeat and deletes it when it stops gracefully. A worker that dies stops rewriting it, and the
record expires: the registry never lists a worker dead for longer than the time to live.
Listing is an administrator's call: one SCAN of the registry's prefix and one MGET.
"""

from __future__ import annotations

import logging

from alsek.domain.model.worker_record import (
    DEFAULT_RECORD_TTL_MS,
    REGISTRY_PREFIX,
    WorkerRecord,
    record_name,
)
from alsek.ports.keyvalue import MISSING, KeyValueStore

log = logging.getLogger("alsek.registry")


class WorkerRegistry:
    """Reads and writes heartbeat records of workers in ``store``.

    Args:
        store: the key-value store (a backend) the workers share.
    """

    def __init__(self, store: KeyValueStore) -> None:
        self.store = store

    def beat(self, record: WorkerRecord, ttl_ms: int = DEFAULT_RECORD_TTL_MS) -> None:
        """Write ``record`` to live ``ttl_ms`` (one SET with an expiry).

        Raises:
            BackendError: if the store cannot be reached.
        """
        self.store.set(record_name(record.id), record.to_dict(), ttl=ttl_ms)

    def remove(self, worker_id: str) -> None:
        """Delete the record of ``worker_id`` (a graceful stop); no error if it is gone."""
        self.store.delete(record_name(worker_id), missing_ok=True)

    def workers(self) -> list[WorkerRecord]:
        """The live workers' records, by host, pool and pid. An unreadable record (from
        another program, or damaged) is logged and left out.

        Raises:
            BackendError: if the store cannot be reached.
        """
        names = sorted(self.store.scan(REGISTRY_PREFIX))
        records = []
        for name, value in zip(names, self.store.get_many(names), strict=True):
            if value is MISSING:  # expired between the scan and the read
                continue
            try:
                records.append(WorkerRecord.from_dict(value))
            except (TypeError, ValueError, KeyError, AttributeError) as error:
                log.warning("Ignoring an unreadable worker record %s: %s", name, error)
        return sorted(records, key=lambda r: (r.host, r.pool_pid, r.pid))
