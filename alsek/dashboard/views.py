"""What the dashboard shows and does, as plain data: no web framework here.

Each function is one call of an operator's service (:mod:`alsek.app.services`): queue statistics
(one atomic count per queue), the worker registry, a page of dead letters (read a page at a time,
at most :data:`DEAD_LETTER_LIMIT`), a message's report; and the changes: requeue and purge dead
letters, purge a queue, revoke a message.
"""

from __future__ import annotations

import itertools
from typing import Any

from alsek.app.services import admin
from alsek.app.services.inspection import queue_stats
from alsek.app.services.registry import list_workers, worker_rows
from alsek.domain.model.dead_letters import DeadLetterFilter, exception_name
from alsek.domain.model.message import Message
from alsek.domain.model.naming import validate_queue_name
from alsek.ports.backend import Backend

#: Most dead letters one listing returns.
DEAD_LETTER_LIMIT = 100


def overview(backend: Backend) -> dict[str, Any]:
    """Queues (counts by state) and live workers."""
    now = backend.clock.now_ms()
    return {
        "now_ms": now,
        "namespace": backend.namespace,
        "queues": [stats.as_dict() for stats in queue_stats(backend)],
        "workers": worker_rows(list_workers(backend), now),
    }


def _dead_row(message: Message) -> dict[str, Any]:
    details = message.exception_details or {}
    return {
        "uuid": message.uuid, "queue": message.queue, "task": message.task_name,
        "exception": exception_name(message), "text": details.get("text"),
        "retries": message.retries, "failed_at": message.updated_at or message.created_at,
    }  # fmt: skip


def dead_letters(
    backend: Backend, queue: str | None = None, limit: int = DEAD_LETTER_LIMIT
) -> dict[str, Any]:
    """Up to ``limit`` dead letters (of ``queue``, or of every queue), and whether there are
    more."""
    where = DeadLetterFilter(queue=_queue_or_none(queue))
    rows = [_dead_row(m) for m in itertools.islice(admin.dead_letters(backend, where), limit + 1)]
    return {"items": rows[:limit], "more": len(rows) > limit}


def message(backend: Backend, uuid: str) -> dict[str, Any] | None:
    """The report of message ``uuid`` (body, state, status, result, lineage); None: unknown."""
    report = admin.message_report(backend, uuid)
    return None if report is None else report.as_dict()


def requeue(backend: Backend, uuid: str | None = None, queue: str | None = None) -> int:
    """Requeue dead letter ``uuid``, else every dead letter (of ``queue``); how many went."""
    if uuid:
        dead = admin.find_dead_letter(backend, uuid)
        return 0 if dead is None or admin.requeue_one(backend, dead) is None else 1
    where = DeadLetterFilter(queue=_queue_or_none(queue))
    return len(admin.requeue_dead_letters(backend, where))


def purge_dead_letters(backend: Backend, queue: str | None = None) -> int:
    """Drop every dead letter (of ``queue``); how many went."""
    return len(admin.purge_dead_letters(backend, DeadLetterFilter(queue=_queue_or_none(queue))))


def purge_queue(backend: Backend, queue: str) -> int:
    """Remove the waiting messages of ``queue``; how many went."""
    return admin.purge_queue(backend, validate_queue_name(queue))


def revoke(backend: Backend, uuid: str) -> str | None:
    """Revoke message ``uuid``; where it was (None: not found)."""
    found = admin.revoke(backend, uuid)
    return None if found is None else found.state


def _queue_or_none(queue: str | None) -> str | None:
    return validate_queue_name(queue) if queue else None
