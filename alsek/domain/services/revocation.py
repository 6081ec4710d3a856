"""Revoking messages: take them out of the queue and tell workers to stop running them.

One atomic step (the backend's ``fail``: a remove that carries effects) removes the message
wherever it is, keeps it in the dead letter queue with :class:`RevokedError` details (when the
broker keeps dead letters, as for any failure, whichever pool ran it), writes the revocation marker
``revoked:<uuid>`` (kept for :data:`DEFAULT_REVOCATION_TTL_MS`), records FAILED with the status
tracker, and publishes ``{"uuid", "interrupt"}`` on the revocation channel, where workers learn to
interrupt a run in progress.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from alsek.domain.model.effects import Effects, Publish, Write
from alsek.domain.model.errors import RevokedError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import REVOCATION_CHANNEL, revoked_name
from alsek.domain.model.status import TaskStatus
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
) -> None:
    """Revoke ``message``: remove it, mark it revoked and FAILED, announce it to the workers.

    Args:
        backend: where the message lives.
        message: the message to revoke.
        status_tracker: records FAILED, unless the message already finished (its terminal
            status is kept).
        skip_if_running: let a run already in progress finish (workers are told not to
            interrupt it); the message is removed and marked revoked all the same.
        dlq_ttl: how long the revoked message stays in the dead letter queue (ms; None or 0:
            not kept).
    """
    effects = revocation_effects(
        message, interrupt=not skip_if_running, revoked_at=backend.clock.now_ms()
    )
    if status_tracker is not None and not status_tracker.get(message).terminal:
        effects = status_tracker.effects_for(message, TaskStatus.FAILED) + effects
    details = {"name": RevokedError.__name__, "text": "revoked", "traceback": None}
    dead = Message.from_data({**message.data, "exception_details": details})
    backend.fail(dead, dlq_ttl=dlq_ttl or None, effects=effects)
    log.info(
        "Revoked %s%s.", message.summary, " (not interrupting a run)" if skip_if_running else ""
    )


def is_revoked(backend: KeyValueStore, message: Message) -> bool:
    """Whether ``message`` has been revoked (within the marker's lifetime)."""
    return backend.exists(revoked_name(str(message.uuid)))
