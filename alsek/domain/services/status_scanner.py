"""The status integrity scan: statuses left non-terminal by a worker that died are set to UNKNOWN.

A status is stale when it is not terminal (nor UNKNOWN already) and its message is no longer in
the broker. The scan checks the broker *before* reading the status again: once a message's body
is gone, its last status has already been written (ack, retry and fail write the status in the
same atomic step), so a status read after that cannot be overtaken by a worker's late write.

Scheduling the scan is left to the application (``alsek.app.status_scanner`` runs it on a
:class:`~alsek.ports.scheduler.Scheduler`); this module only scans.
"""

from __future__ import annotations

import logging
from typing import Any

from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.broker import Broker
from alsek.domain.services.status_tracker import StatusTracker, StatusUpdate, status_name

log = logging.getLogger("alsek.status")

_PREFIX = status_name("")


def _message_of(value: Any) -> Message | None:
    """A stand-in message (enough to name it in the broker) from a stored status value."""
    try:
        return Message(value["task_name"], queue=value["queue"], uuid=value["uuid"])
    except (KeyError, TypeError, ValidationError):
        return None


class StatusIntegrityScan:
    """Finds statuses whose messages vanished and marks them UNKNOWN.

    Args:
        status_tracker: whose statuses to check.
        broker: where the messages should be.
    """

    def __init__(self, status_tracker: StatusTracker, broker: Broker) -> None:
        self.status_tracker = status_tracker
        self.broker = broker

    def scan(self) -> list[Message]:
        """Run one scan (SCAN over the statuses: an admin operation, off the hot path).

        Returns:
            The messages whose status was set to UNKNOWN.
        """
        backend = self.status_tracker.backend
        names = list(backend.scan(_PREFIX))
        marked = []
        for name, value in zip(names, backend.get_many(names), strict=True):
            if not _is_live(value):
                continue
            message = _message_of(value)
            if message is None:
                log.warning("Skipping unreadable status %r.", name)
            elif self._mark_if_lost(message):
                marked.append(message)
        if marked:
            log.info("Integrity scan marked %d status(es) UNKNOWN.", len(marked))
        return marked

    def _mark_if_lost(self, message: Message) -> bool:
        if self.broker.exists(message):
            return False
        if not _is_live(self.status_tracker.backend.get(status_name(str(message.uuid)), None)):
            return False  # finished between the two reads
        self.status_tracker.set(message, TaskStatus.UNKNOWN)
        return True


def _is_live(value: Any) -> bool:
    """Whether a stored status value says the message is still in flight."""
    update = StatusUpdate.parse(value)
    return update is not None and not update.final
