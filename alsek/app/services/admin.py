"""Operators' changes to a backend: requeue and purge dead letters, purge a queue, revoke a
message, and the read side they stand on (dead letters by filter, a message's whole story).

Each change is one atomic backend operation per message (or per bounded purge step); lists
are read a page at a time (see :mod:`alsek.ports.admin`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from attrs import frozen

from alsek.domain.model.dead_letters import DeadLetterFilter, requeued
from alsek.domain.model.effects import NO_EFFECTS
from alsek.domain.model.errors import MessageAlreadyExistsError
from alsek.domain.model.inspection import Located
from alsek.domain.model.message import Message
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.broker import DEFAULT_DLQ_TTL_MS
from alsek.domain.services.result_store import result_name
from alsek.domain.services.revocation import revoke as revoke_message
from alsek.domain.services.status_tracker import StatusTracker, status_name
from alsek.ports.admin import PURGE_BATCH
from alsek.ports.backend import Backend

__all__ = [
    "DeadLetterFilter", "MessageReport", "dead_letters", "find_dead_letter", "message_report",
    "purge_dead_letters", "purge_queue", "requeue_dead_letters", "revoke",
]  # fmt: skip


def dead_letters(backend: Backend, where: DeadLetterFilter) -> Iterator[Message]:
    """The dead letters that meet ``where``, read a page at a time."""
    now = backend.clock.now_ms()
    for page in backend.dead_letter_pages(where.queue):
        yield from (message for message in page if where.matches(message, now))


def find_dead_letter(backend: Backend, uuid: str) -> Message | None:
    """The dead letter with ``uuid``, or None (also when the message is not dead)."""
    found = backend.find(uuid)
    return found.message if found is not None and found.state == "dead" else None


def requeue_dead_letters(
    backend: Backend, where: DeadLetterFilter, *, dry_run: bool = False
) -> list[Message]:
    """Send the dead letters that meet ``where`` back to their queues, each in one atomic step
    (see :func:`~alsek.domain.model.dead_letters.requeued`: retries reset, history kept in its
    metadata; a recorded status goes back to SUBMITTED in the same step).

    Returns:
        The messages requeued (with ``dry_run``: those that would be). A dead letter whose
        uuid is back in its queue already, or that vanished meanwhile, is skipped.
    """
    chosen = list(dead_letters(backend, where))  # read first: requeued ones leave the scan
    if dry_run:
        return chosen
    return [fresh for dead in chosen if (fresh := requeue_one(backend, dead)) is not None]


def requeue_one(backend: Backend, dead: Message) -> Message | None:
    """Requeue the dead letter ``dead``; the new message, or None if it was not requeued."""
    fresh = requeued(dead, backend.clock.now_ms())
    effects = NO_EFFECTS
    if backend.exists(status_name(str(dead.uuid))):
        effects = StatusTracker(backend).effects_for(fresh, TaskStatus.SUBMITTED)
    try:
        done = backend.requeue_dead_letter(dead, fresh, effects=effects)
    except MessageAlreadyExistsError:
        return None
    return fresh if done else None


def purge_dead_letters(
    backend: Backend, where: DeadLetterFilter, *, dry_run: bool = False
) -> list[Message]:
    """Drop the dead letters that meet ``where``, a page at a time.

    Returns:
        The messages dropped (with ``dry_run``: those that would be).
    """
    now = backend.clock.now_ms()
    gone: list[Message] = []
    for page in backend.dead_letter_pages(where.queue):
        chosen = [message for message in page if where.matches(message, now)]
        if chosen and not dry_run:
            backend.delete_dead_letters(chosen)
        gone += chosen
    return gone


def purge_queue(backend: Backend, queue: str) -> int:
    """Remove every waiting (ready or delayed) message of ``queue`` in bounded atomic steps of
    :data:`PURGE_BATCH`. Leased messages are left to their holders, who finish, retry or fail
    them as usual. Messages submitted while it runs may be removed too.

    Returns:
        How many messages were removed.
    """
    removed = 0
    while (step := backend.purge_step(queue, limit=PURGE_BATCH)) > 0:
        removed += step
        if step < PURGE_BATCH:
            break
    return removed


def revoke(
    backend: Backend, uuid: str, *, dlq_ttl: int | None = DEFAULT_DLQ_TTL_MS
) -> Located | None:
    """Revoke the message stored under ``uuid``: removed from its queue (a running one is
    interrupted by its worker), kept in the dead letter queue with a ``RevokedError``, its
    recorded status (if any) FAILED.

    Returns:
        Where the message was before (None: not found; state ``"dead"``: it had failed
        already and nothing was done).
    """
    found = backend.find(uuid)
    if found is None or found.state == "dead":
        return found
    tracker = StatusTracker(backend) if backend.exists(status_name(uuid)) else None
    revoke_message(backend, found.message, status_tracker=tracker, dlq_ttl=dlq_ttl)
    return found


@frozen
class MessageReport:
    """Everything known about one message.

    Attributes:
        uuid: its uuid.
        message: its stored body (None: not stored any more: it finished, or was removed).
        state: ``ready``, ``delayed``, ``leased``, ``dead``, or ``gone`` (not stored; its
            status or result still is).
        status: its recorded status record (None: not tracked).
        result: its stored result record (None: none).
        callbacks: the uuids of its chained callbacks, each with its state (None: not stored:
            not submitted yet, or finished).
    """

    uuid: str
    message: Message | None
    state: str
    status: Any
    result: Any
    callbacks: list[tuple[str, str | None]]

    def as_dict(self) -> dict[str, Any]:
        """The report as plain values (for JSON)."""
        message = self.message
        return {
            "uuid": self.uuid, "state": self.state,
            "message": None if message is None else message.data,
            "status": self.status, "result": self.result,
            "lineage": {
                "progenitor_uuid": None if message is None else message.progenitor_uuid,
                "previous_message_uuid": None if message is None else message.previous_message_uuid,
                "callbacks": [{"uuid": u, "state": s} for u, s in self.callbacks],
            },
        }  # fmt: skip


def message_report(backend: Backend, uuid: str) -> MessageReport | None:
    """The body, state, status, result and lineage of the message ``uuid``: a lookup per queue
    (a scan of the dead letters if it is in none) and one read per callback.

    Returns:
        None if nothing at all is stored of it (no body, dead letter, status or result).
    """
    found = backend.find(uuid)
    status = backend.get(status_name(uuid), default=None)
    result = backend.get(result_name(uuid), default=None)
    if found is None:
        if status is None and result is None:
            return None
        return MessageReport(uuid, None, "gone", status, result, [])
    callbacks = []
    for child in found.message.descendant_uuids or []:
        located = backend.find(child)
        callbacks.append((child, None if located is None else located.state))
    return MessageReport(uuid, found.message, found.state, status, result, callbacks)
