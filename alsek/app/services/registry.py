"""The worker registry, read: which workers are alive, what they run, what they have done."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alsek.domain.model.worker_record import WorkerRecord
from alsek.domain.services.worker_registry import WorkerRegistry
from alsek.ports.keyvalue import KeyValueStore


def list_workers(backend: KeyValueStore) -> list[WorkerRecord]:
    """The live workers on ``backend`` (each process pool, and each process group of a thread
    pool), by host, pool and pid. A bounded scan of the registry's keys and one read.

    Raises:
        BackendError: if the backend cannot be reached.
    """
    return WorkerRegistry(backend).workers()


def worker_rows(records: Sequence[WorkerRecord], now_ms: int) -> list[dict[str, Any]]:
    """``records`` as flat rows for a table or JSON: the record's fields, with ``age_s`` (since
    it started), ``seen_s_ago`` (since its last heartbeat) and ``busy`` (messages running)."""
    rows = []
    for record in records:
        row = record.to_dict()
        row["age_s"] = round(max(now_ms - record.started_ms, 0) / 1000, 1)
        row["seen_s_ago"] = round(max(now_ms - record.seen_ms, 0) / 1000, 1)
        row["busy"] = len(record.running)
        rows.append(row)
    return rows
