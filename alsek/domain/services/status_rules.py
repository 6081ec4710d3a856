"""What the status trackers (:class:`~alsek.domain.services.status_tracker.StatusTracker` and
its asyncio twin :class:`~alsek.domain.services.status_async.AsyncStatusTracker`) do, written
once as steps (:mod:`alsek.domain.services.kv_steps`) that each tracker performs on its backend.

Data model (short names): ``status:<uuid>`` holds ``{"status", "details", "timestamp", "uuid",
"queue", "task_name"}`` (the status by name; the last three let the integrity scanner find the
message) and expires after the tracker's ``ttl``; every write publishes the same value on the
channel ``status:<uuid>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alsek.domain.model.effects import Effects, Publish, Write
from alsek.domain.model.errors import ValidationError, WaitTimeoutError
from alsek.domain.model.message import Message
from alsek.domain.model.status import StatusUpdate, TaskStatus
from alsek.domain.model.steps import Emit, Steps
from alsek.domain.services import kv_steps as kv
from alsek.domain.services.notification import Deadline, check_timeout
from alsek.ports.keyvalue import MISSING

#: How long a status is kept after its last change, in milliseconds (7 days).
DEFAULT_STATUS_TTL_MS = 7 * 24 * 3_600_000


def status_name(uuid: str) -> str:
    """The storage name of the status of message ``uuid``."""
    return f"status:{uuid}"


def status_channel(uuid: str) -> str:
    """The channel announcing status changes of message ``uuid``."""
    return f"status:{uuid}"


def statuses(status: TaskStatus | Iterable[TaskStatus]) -> frozenset[TaskStatus]:
    """``status`` (one, or a collection) as a set.

    Raises:
        ValidationError: for anything but statuses.
    """
    try:
        wanted = frozenset([status] if isinstance(status, TaskStatus) else status)
    except TypeError:  # not iterable (e.g. 123)
        wanted = frozenset()
    if not wanted or not all(isinstance(s, TaskStatus) for s in wanted):
        raise ValidationError(
            f"status must be a TaskStatus or a collection of them, got {status!r}"
        )
    return wanted


def timeout_ms(timeout: Any) -> int | None:
    """``timeout`` if it is milliseconds (a float is refused: Alsek 1.3.2 took seconds)."""
    if isinstance(timeout, float):
        raise ValidationError(
            f"timeout is in milliseconds (an int), got {timeout!r}; Alsek 1.3.2 took seconds: "
            "multiply by 1000"
        )
    return timeout


class StatusRules:
    """Settings and operations (as steps) shared by both status trackers.

    Args:
        backend: where statuses are kept.
        ttl: how long a status is kept after its last change, in milliseconds (default 7 days;
            None: forever).
        enable_pubsub: accepted for Alsek 1.3.2 code; it has no effect: every change is always
            published, since that is how waiting and listening avoid polling.
    """

    def __init__(
        self,
        backend: Any,
        ttl: int | None = DEFAULT_STATUS_TTL_MS,
        enable_pubsub: bool | None = None,
    ) -> None:
        if ttl is not None:
            check_timeout(ttl, "ttl")
        self.backend = backend
        self.ttl = ttl
        self.enable_pubsub = True if enable_pubsub is None else bool(enable_pubsub)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend!r}, ttl={self.ttl!r})"

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

    # -- operations as steps ---------------------------------------------------------------------

    def set_steps(self, message: Message, status: TaskStatus, details: Any) -> Steps[None]:
        """Record ``status`` now and announce it."""
        effects = self.effects_for(message, status, details)
        for write in effects.writes:
            yield kv.Set(write.name, write.value, ttl=write.ttl_ms)
        for publish in effects.publishes:
            yield kv.Publish(publish.channel, publish.value)

    def publish_steps(self, message: Message, update: StatusUpdate) -> Steps[None]:
        """Announce ``update`` without recording it."""
        value = {**update.as_dict(), "uuid": message.uuid}
        yield kv.Publish(status_channel(str(message.uuid)), value)

    def exists_steps(self, message: Message) -> Steps[bool]:
        """Whether a status is recorded."""
        return bool((yield kv.Exists(self.get_storage_name(message))))

    def update_steps(self, message: Message) -> Steps[StatusUpdate | None]:
        """The last status change, or None."""
        return StatusUpdate.parse((yield kv.Get(self.get_storage_name(message), None)))

    def status_steps(self, message: Message) -> Steps[TaskStatus]:
        """The status (``UNKNOWN`` when none is recorded)."""
        update = yield from self.update_steps(message)
        return TaskStatus.UNKNOWN if update is None else update.status

    def delete_steps(self, message: Message, check: bool, missing_ok: bool) -> Steps[None]:
        """Forget the status (see :meth:`StatusTracker.delete`)."""
        update = (yield from self.update_steps(message)) if check else None
        if update is not None and not update.status.terminal:
            raise ValidationError(
                f"the status of {message.summary} is {update.status.name}, not terminal: "
                "pass check=False to delete it anyway"
            )
        yield kv.Delete(self.get_storage_name(message), missing_ok=missing_ok)

    def wait_steps(
        self, message: Message, status: Any, timeout: Any, raise_on_timeout: bool
    ) -> Steps[TaskStatus]:
        """Wait until ``message`` reaches ``status`` (see :meth:`StatusTracker.wait_for`)."""
        wanted = statuses(status)
        reached = yield from self._reached(message, wanted, Deadline(timeout_ms(timeout)))
        if reached is not None:
            return reached
        if raise_on_timeout:
            raise WaitTimeoutError(
                f"{message.summary} did not reach {sorted(s.name for s in wanted)} in {timeout} ms"
            )
        return (yield from self.status_steps(message))

    def _reached(
        self, message: Message, wanted: frozenset[TaskStatus], deadline: Deadline
    ) -> Steps[TaskStatus | None]:
        if (current := (yield from self.status_steps(message))) in wanted:
            return current
        yield kv.Subscribe((self.get_pubsub_name(message),))
        if (current := (yield from self.status_steps(message))) in wanted:
            return current
        while not deadline.passed:
            note = yield kv.Next(deadline.remaining_ms())
            notes = [note, *(yield kv.Drain())] if note is not MISSING else []
            for update in map(StatusUpdate.parse, notes):
                if update is not None and update.status in wanted:
                    return update.status
            if not notes and (current := (yield from self.status_steps(message))) in wanted:
                return current  # the safety re-check
        return None

    def listen_steps(self, message: Message, auto_exit: bool, timeout: Any) -> Steps[None]:
        """Emit the status of ``message`` and then each change (see
        :meth:`StatusTracker.listen_to_updates`)."""
        deadline = Deadline(timeout_ms(timeout))
        yield kv.Subscribe((self.get_pubsub_name(message),))
        current = yield from self.update_steps(message)
        last: StatusUpdate | None = None
        for first in _after(current, (yield kv.Drain())):
            yield Emit(first)
            last = first
            if first.final and auto_exit:
                return
        while not deadline.passed:
            note = yield kv.Next(deadline.remaining_ms())
            if note is not MISSING:
                update = StatusUpdate.parse(note)
            else:
                update = yield from self.update_steps(message)
            if update is None or update == last:
                continue
            yield Emit(update)
            last = update
            if update.final and auto_exit:
                return


def _after(current: StatusUpdate | None, backlog: list[Any]) -> list[StatusUpdate]:
    """The updates to emit first: the current one, then those published after it.

    ``backlog`` holds what was published since subscribing; whatever precedes ``current``
    there is older than it and already superseded.
    """
    updates = [u for u in map(StatusUpdate.parse, backlog) if u is not None]
    if current is None:
        return updates
    if current in updates:
        return updates[updates.index(current) :]
    return [current, *updates]
