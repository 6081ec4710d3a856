"""Status tracking: every change written atomically with the queue operation that causes it, and
announced on pub/sub so that waiting and listening never poll.

Data model (short names): ``status:<uuid>`` holds ``{"status", "timestamp", "uuid", "queue",
"task_name"}`` (the status by name; the last three let the integrity scanner find the message)
and expires after the tracker's ``ttl``; every write publishes the same value on the channel
``status:<uuid>``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from attrs import frozen

from alsek.domain.model.effects import Effects, Publish, Write
from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.notification import Deadline, check_timeout, drain
from alsek.ports.keyvalue import MISSING, KeyValueStore, Subscription

log = logging.getLogger("alsek.status")

#: How long a status is kept after its last change, in milliseconds (7 days).
DEFAULT_STATUS_TTL_MS = 7 * 24 * 3_600_000


def status_name(uuid: str) -> str:
    """The storage name of the status of message ``uuid``."""
    return f"status:{uuid}"


def status_channel(uuid: str) -> str:
    """The channel announcing status changes of message ``uuid``."""
    return f"status:{uuid}"


@frozen
class StatusUpdate:
    """One status change.

    Attributes:
        status: the new status.
        timestamp: when it was set, in ms since the epoch.
    """

    status: TaskStatus
    timestamp: int

    @property
    def final(self) -> bool:
        """Whether nothing more will happen: a terminal status, or UNKNOWN (the integrity
        scanner's verdict on a message that vanished)."""
        return self.status.terminal or self.status is TaskStatus.UNKNOWN

    @classmethod
    def parse(cls, value: Any) -> StatusUpdate | None:
        """The update stored or published as ``value``, or None if it is not one."""
        try:
            return cls(TaskStatus[value["status"]], int(value["timestamp"]))
        except (KeyError, TypeError, ValueError):
            return None


def _statuses(status: TaskStatus | Iterable[TaskStatus]) -> frozenset[TaskStatus]:
    wanted = frozenset([status] if isinstance(status, TaskStatus) else status)
    if not wanted or not all(isinstance(s, TaskStatus) for s in wanted):
        raise ValidationError(
            f"status must be a TaskStatus or a collection of them, got {status!r}"
        )
    return wanted


class StatusTracker:
    """Tracks the status of messages.

    Args:
        backend: where statuses are kept.
        ttl: how long a status is kept after its last change, in milliseconds (default 7 days;
            None: forever).

    Example:
        >>> status_tracker = StatusTracker(backend)
        >>> @task(broker, status_tracker=status_tracker)
        ... def sum_n(n: int) -> int:
        ...     return n * (n + 1) // 2
        >>> status_tracker.get(sum_n.generate(kwargs={"n": 100}))
        <TaskStatus.SUBMITTED: 1>
    """

    def __init__(self, backend: KeyValueStore, ttl: int | None = DEFAULT_STATUS_TTL_MS) -> None:
        if ttl is not None:
            check_timeout(ttl, "ttl")
        self.backend = backend
        self.ttl = ttl

    def __repr__(self) -> str:
        return f"StatusTracker(backend={self.backend!r}, ttl={self.ttl!r})"

    # -- writing ---------------------------------------------------------------------------------

    def effects_for(self, message: Message, status: TaskStatus) -> Effects:
        """The write and notification recording ``status`` for ``message``, to commit atomically
        with the queue operation that causes it."""
        value = {
            "status": TaskStatus(status).name,
            "timestamp": self.backend.clock.now_ms(),
            "uuid": message.uuid,
            "queue": message.queue,
            "task_name": message.task_name,
        }
        uuid = str(message.uuid)
        return Effects(
            writes=(Write(status_name(uuid), value, ttl_ms=self.ttl),),
            publishes=(Publish(status_channel(uuid), value),),
        )

    def set(self, message: Message, status: TaskStatus) -> None:
        """Record ``status`` for ``message`` now, and announce it."""
        effects = self.effects_for(message, status)
        for write in effects.writes:
            self.backend.set(write.name, write.value, ttl=write.ttl_ms)
        for publish in effects.publishes:
            self.backend.publish(publish.channel, publish.value)

    def delete(self, message: Message, missing_ok: bool = True) -> None:
        """Forget the status of ``message``.

        Raises:
            KeyError: if there is none and not ``missing_ok``.
        """
        self.backend.delete(status_name(str(message.uuid)), missing_ok=missing_ok)

    # -- reading ---------------------------------------------------------------------------------

    def exists(self, message: Message) -> bool:
        """Whether a status is recorded for ``message``."""
        return self.backend.exists(status_name(str(message.uuid)))

    def get(self, message: Message) -> TaskStatus:
        """The status of ``message`` (``TaskStatus.UNKNOWN`` when none is recorded)."""
        update = self.get_update(message)
        return TaskStatus.UNKNOWN if update is None else update.status

    def get_update(self, message: Message) -> StatusUpdate | None:
        """The last status change of ``message`` with its time, or None."""
        return StatusUpdate.parse(self.backend.get(status_name(str(message.uuid)), default=None))

    # -- waiting ---------------------------------------------------------------------------------

    def wait_for(
        self,
        message: Message,
        status: TaskStatus | Iterable[TaskStatus],
        timeout: int | None = 5_000,
    ) -> bool:
        """Wait until ``message`` reaches ``status`` (or one of several), without polling.

        A status that is passed through while waiting counts, even if it has already been
        replaced by the time this method looks.

        Args:
            message: the message to watch.
            status: the status, or a collection of statuses, to wait for.
            timeout: the longest to wait, in milliseconds (None: no limit).

        Returns:
            Whether the status was reached before the timeout.
        """
        wanted = _statuses(status)
        if self.get(message) in wanted:
            return True
        deadline = Deadline(timeout)
        with self._subscribe(message) as subscription:
            if self.get(message) in wanted:
                return True
            while not deadline.passed:
                note = subscription.get(deadline.remaining_ms())
                notes = [note, *drain(subscription)] if note is not MISSING else []
                if any(
                    u is not None and u.status in wanted for u in map(StatusUpdate.parse, notes)
                ):
                    return True
                if not notes and self.get(message) in wanted:  # safety re-check
                    return True
        return False

    def listen_to_updates(
        self, message: Message, timeout: int | None = None
    ) -> Iterator[StatusUpdate]:
        """Yield the status of ``message`` and then each change as it happens, without polling.

        Ends after a terminal status (FAILED, SUCCEEDED), or UNKNOWN as set by the integrity
        scanner for a message that vanished, or at the timeout.

        Args:
            message: the message to watch.
            timeout: the longest to listen, in milliseconds (None: until the end).
        """
        deadline = Deadline(timeout)
        with self._subscribe(message) as subscription:
            current = self.get_update(message)
            backlog = drain(subscription)
            last: StatusUpdate | None = None
            for first in _after(current, backlog):
                yield first
                last = first
                if first.final:
                    return
            while not deadline.passed:
                note = subscription.get(deadline.remaining_ms())
                update = (
                    StatusUpdate.parse(note) if note is not MISSING else self.get_update(message)
                )
                if update is None or update == last:
                    continue
                yield update
                last = update
                if update.final:
                    return

    def _subscribe(self, message: Message) -> Subscription:
        return self.backend.subscribe(status_channel(str(message.uuid)))


def _after(current: StatusUpdate | None, backlog: list[Any]) -> list[StatusUpdate]:
    """The updates to yield first: the current one, then those published after it.

    ``backlog`` holds what was published since subscribing; whatever precedes ``current``
    there is older than it and already superseded.
    """
    updates = [u for u in map(StatusUpdate.parse, backlog) if u is not None]
    if current is None:
        return updates
    if current in updates:
        return updates[updates.index(current) :]
    return [current, *updates]
