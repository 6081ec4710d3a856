"""Status tracking: every change written atomically with the queue operation that causes it, and
announced on pub/sub so that waiting and listening never poll.

Data model (short names): ``status:<uuid>`` holds ``{"status", "details", "timestamp", "uuid",
"queue", "task_name"}`` (the status by name; the last three let the integrity scanner find the
message) and expires after the tracker's ``ttl``; every write publishes the same value on the
channel ``status:<uuid>``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from alsek.domain.model.effects import Effects, Publish, Write
from alsek.domain.model.errors import ValidationError, WaitTimeoutError
from alsek.domain.model.message import Message
from alsek.domain.model.status import StatusUpdate, TaskStatus
from alsek.domain.services import serialization
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


__all__ = [
    "DEFAULT_STATUS_TTL_MS",
    "StatusTracker",
    "StatusUpdate",
    "status_channel",
    "status_name",
]


def _statuses(status: TaskStatus | Iterable[TaskStatus]) -> frozenset[TaskStatus]:
    try:
        wanted = frozenset([status] if isinstance(status, TaskStatus) else status)
    except TypeError:  # not iterable (e.g. 123)
        wanted = frozenset()
    if not wanted or not all(isinstance(s, TaskStatus) for s in wanted):
        raise ValidationError(
            f"status must be a TaskStatus or a collection of them, got {status!r}"
        )
    return wanted


def _timeout_ms(timeout: Any) -> int | None:
    if isinstance(timeout, float):
        raise ValidationError(
            f"timeout is in milliseconds (an int), got {timeout!r}; Alsek 1.3.2 took seconds: "
            "multiply by 1000"
        )
    return timeout


class StatusTracker:
    """Tracks the status of messages.

    Args:
        backend: where statuses are kept.
        ttl: how long a status is kept after its last change, in milliseconds (default 7 days;
            None: forever).
        enable_pubsub: accepted for Alsek 1.3.2 code; it has no effect: every change is always
            published, since that is how waiting and listening avoid polling.

    Example:
        >>> status_tracker = StatusTracker(backend)
        >>> @task(broker, status_tracker=status_tracker)
        ... def sum_n(n: int) -> int:
        ...     return n * (n + 1) // 2
        >>> status_tracker.get(sum_n.generate(kwargs={"n": 100}))
        <TaskStatus.SUBMITTED: 1>
    """

    def __init__(
        self,
        backend: KeyValueStore,
        ttl: int | None = DEFAULT_STATUS_TTL_MS,
        enable_pubsub: bool | None = None,
    ) -> None:
        if ttl is not None:
            check_timeout(ttl, "ttl")
        self.backend = backend
        self.ttl = ttl
        self.enable_pubsub = True if enable_pubsub is None else bool(enable_pubsub)

    def __repr__(self) -> str:
        return f"StatusTracker(backend={self.backend!r}, ttl={self.ttl!r})"

    # -- writing ---------------------------------------------------------------------------------

    def serialize(self) -> dict[str, Any]:
        """The tracker's settings, its backend encoded (Alsek 1.3.2's form)."""
        return serialization.status_tracker_settings(self)

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> StatusTracker:
        """The tracker :meth:`serialize` described, on a fresh backend."""
        return serialization.rebuilt(cls, data)  # type: ignore[no-any-return]

    @staticmethod
    def get_storage_name(message: Message) -> str:
        """The storage name of ``message``'s status."""
        return status_name(str(message.uuid))

    @staticmethod
    def get_pubsub_name(message: Message) -> str:
        """The channel on which ``message``'s status changes are announced."""
        return status_channel(str(message.uuid))

    def effects_for(self, message: Message, status: TaskStatus, details: Any = None) -> Effects:
        """The write and notification recording ``status`` (with ``details``) for ``message``,
        to commit atomically with the queue operation that causes it."""
        value = {
            "status": TaskStatus(status).name,
            "details": details,
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

    def set(self, message: Message, status: TaskStatus, details: Any = None) -> None:
        """Record ``status`` for ``message`` now, with ``details`` (anything the serializer
        takes), and announce it."""
        effects = self.effects_for(message, status, details)
        for write in effects.writes:
            self.backend.set(write.name, write.value, ttl=write.ttl_ms)
        for publish in effects.publishes:
            self.backend.publish(publish.channel, publish.value)

    def publish_update(self, message: Message, update: StatusUpdate) -> None:
        """Announce ``update`` for ``message`` without recording it."""
        value = {**update.as_dict(), "uuid": message.uuid}
        self.backend.publish(status_channel(str(message.uuid)), value)

    def delete(self, message: Message, check: bool = True, missing_ok: bool = False) -> None:
        """Forget the status of ``message`` (as Alsek 1.3.2).

        Args:
            message: whose status to forget.
            check: refuse to forget a status that is not terminal (the message may still run).
            missing_ok: do nothing when there is no status (else ``KeyError``).

        Raises:
            ValidationError: with ``check``, if the status is not FAILED or SUCCEEDED.
            KeyError: if there is none and not ``missing_ok``.
        """
        if check and self.exists(message) and not self.get(message).terminal:
            raise ValidationError(
                f"the status of {message.summary} is {self.get(message).name}, not terminal: "
                "pass check=False to delete it anyway"
            )
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
        """The last status change of ``message`` (status, details, time), or None: Alsek
        1.3.2's ``get``."""
        return StatusUpdate.parse(self.backend.get(status_name(str(message.uuid)), default=None))

    # -- waiting ---------------------------------------------------------------------------------

    def wait_for(
        self,
        message: Message,
        status: TaskStatus | Iterable[TaskStatus],
        timeout: int | None = 5_000,
        poll_interval: Any = None,
        raise_on_timeout: bool = True,
    ) -> TaskStatus:
        """Wait until ``message`` reaches ``status`` (or one of several), without polling.

        A status that is passed through while waiting counts, even if it has already been
        replaced by the time this method looks.

        Args:
            message: the message to watch.
            status: the status, or a collection of statuses, to wait for.
            timeout: the longest to wait, in milliseconds, an int (None: no limit). A float is
                refused: Alsek 1.3.2 took seconds here.
            poll_interval: accepted for Alsek 1.3.2 code; no effect (nothing polls).
            raise_on_timeout: raise when the time is up (else return the current status).

        Returns:
            The status reached; after a timeout without ``raise_on_timeout``, the current one
            (``UNKNOWN`` when none is recorded).

        Raises:
            WaitTimeoutError: (a ``TimeoutError``) if none of ``status`` was reached in time.
            ValidationError: for a bad ``status`` or a float ``timeout``.
        """
        wanted = _statuses(status)
        reached = self._wait(message, wanted, Deadline(_timeout_ms(timeout)))
        if reached is not None:
            return reached
        if raise_on_timeout:
            raise WaitTimeoutError(
                f"{message.summary} did not reach {sorted(s.name for s in wanted)} in {timeout} ms"
            )
        return self.get(message)

    def _wait(
        self, message: Message, wanted: frozenset[TaskStatus], deadline: Deadline
    ) -> TaskStatus | None:
        if (current := self.get(message)) in wanted:
            return current
        with self._subscribe(message) as subscription:
            if (current := self.get(message)) in wanted:
                return current
            while not deadline.passed:
                note = subscription.get(deadline.remaining_ms())
                notes = [note, *drain(subscription)] if note is not MISSING else []
                for update in map(StatusUpdate.parse, notes):
                    if update is not None and update.status in wanted:
                        return update.status
                if not notes and (current := self.get(message)) in wanted:  # safety re-check
                    return current
        return None

    def listen_to_updates(
        self, message: Message, auto_exit: bool = True, timeout: int | None = None
    ) -> Iterator[StatusUpdate]:
        """Yield the status of ``message`` and then each change as it happens, without polling.

        Ends after a terminal status (FAILED, SUCCEEDED), or UNKNOWN as set by the integrity
        scanner for a message that vanished (unless not ``auto_exit``), or at the timeout.

        Args:
            message: the message to watch.
            auto_exit: stop after a final status (False: listen until the timeout).
            timeout: the longest to listen, in milliseconds (None: no limit).
        """
        deadline = Deadline(_timeout_ms(timeout))
        with self._subscribe(message) as subscription:
            current = self.get_update(message)
            backlog = drain(subscription)
            last: StatusUpdate | None = None
            for first in _after(current, backlog):
                yield first
                last = first
                if first.final and auto_exit:
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
                if update.final and auto_exit:
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
