"""Revoking messages: take them out of the queue and tell workers to stop running them.

One atomic step (the backend's ``fail``: a remove that carries effects) removes the message
wherever it is, keeps it in the dead letter queue with :class:`RevokedError` details (when the
broker keeps dead letters, as for any failure, whichever pool ran it), writes the revocation marker
``revoked:<uuid>`` (kept for :data:`DEFAULT_REVOCATION_TTL_MS`), records FAILED with the status
tracker, writes a failure record for the result store (:mod:`alsek.domain.model.failure`; its
waiters wake and ``get`` raises :class:`TaskRevokedError`), and publishes ``{"uuid", "interrupt"}``
on the revocation channel, where workers learn to interrupt a run in progress.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from alsek.domain.model.effects import Effects, Publish, Write
from alsek.domain.model.errors import RevokedError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import REVOCATION_CHANNEL, revoked_name
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.result_rules import ResultRules
from alsek.ports.keyvalue import KeyValueStore
from alsek.ports.queue import MessageQueue

if TYPE_CHECKING:
    from alsek.domain.services.status_tracker import StatusTracker

log = logging.getLogger("alsek.revocation")

#: How long a revocation marker is kept, in milliseconds (7 days).
DEFAULT_REVOCATION_TTL_MS = 7 * 24 * 3_600_000


def revocation_effects(
    message: Message,
    *,
    interrupt: bool,
    revoked_at: int,
    ttl: int | None = DEFAULT_REVOCATION_TTL_MS,
) -> Effects:
    """The marker and the announcement of revoking ``message`` at ``revoked_at`` (ms)."""
    uuid = str(message.uuid)
    return Effects(
        writes=(Write(revoked_name(uuid), {"uuid": uuid, "revoked_at": revoked_at}, ttl_ms=ttl),),
        publishes=(Publish(REVOCATION_CHANNEL, {"uuid": uuid, "interrupt": interrupt}),),
    )


def revoke(
    backend: MessageQueue,
    message: Message,
    *,
    status_tracker: StatusTracker | None = None,
    skip_if_running: bool = False,
    dlq_ttl: int | None = None,
    result_store: ResultRules | None = None,
) -> bool:
    """Revoke ``message``: remove it, mark it revoked and FAILED, announce it to the workers
    (who interrupt a run in progress).

    As in Alsek 1.3.2, nothing happens to a message whose status is terminal (it finished), nor,
    with ``skip_if_running``, to one whose status is RUNNING.

    Args:
        backend: where the message lives.
        message: the message to revoke.
        status_tracker: records FAILED, and tells whether the message finished or runs.
        skip_if_running: leave the message alone while it runs (needs ``status_tracker``).
        dlq_ttl: how long the revoked message stays in the dead letter queue (ms; None or 0:
            not kept).
        result_store: the task's result store, whose ttl the failure record gets (default:
            a store with the default ttl, so that waiters on any message learn of it).

    Returns:
        Whether the message was revoked.

    Raises:
        AttributeError: if ``skip_if_running`` is given without a status tracker.
    """
    if skip_if_running and status_tracker is None:
        raise AttributeError("revoke(skip_if_running=True) needs the task's status_tracker")
    status = TaskStatus.UNKNOWN if status_tracker is None else status_tracker.get(message)
    if status.terminal or (skip_if_running and status is TaskStatus.RUNNING):
        log.info("Not revoking %s: its status is %s.", message.summary, status.name)
        return False
    effects = revocation_effects(message, interrupt=True, revoked_at=backend.clock.now_ms())
    if status_tracker is not None:
        effects = status_tracker.effects_for(message, TaskStatus.FAILED) + effects
    details = {"name": RevokedError.__name__, "text": "revoked", "traceback": None}
    dead = Message.from_data({**message.data, "exception_details": details})
    effects += (result_store or ResultRules(backend)).failure_effects(dead)
    backend.fail(dead, dlq_ttl=dlq_ttl or None, effects=effects)
    log.info("Revoked %s.", message.summary)
    return True


def is_revoked(backend: KeyValueStore, message: Message) -> bool:
    """Whether ``message`` has been revoked (within the marker's lifetime)."""
    return backend.exists(revoked_name(str(message.uuid)))
