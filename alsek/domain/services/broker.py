"""The broker: submits and manages messages on a backend."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.errors import BackendError, MessageDoesNotExistError, ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import dlq_name, message_name
from alsek.domain.model.worker_record import WorkerRecord
from alsek.domain.services import serialization
from alsek.domain.services.worker_registry import WorkerRegistry
from alsek.ports.async_backend import AsyncBackend
from alsek.ports.backend import Backend

if TYPE_CHECKING:
    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.broker")

DEFAULT_DLQ_TTL_MS = 7 * 24 * 3_600_000


class Broker:
    """Adds messages to a backend and moves them through their life cycle.

    Args:
        backend: where messages are stored.
        dlq_ttl: how long failed messages stay in the dead letter queue, in milliseconds
            (default 7 days). ``None`` or 0 disables the dead letter queue.

    Raises:
        ValidationError: if ``dlq_ttl`` is not None or a non-negative int (a bad value would
            only show when a message fails, and make every failure loop).
    """

    def __init__(self, backend: Backend, dlq_ttl: int | None = DEFAULT_DLQ_TTL_MS) -> None:
        if dlq_ttl is not None and (
            not isinstance(dlq_ttl, int) or isinstance(dlq_ttl, bool) or dlq_ttl < 0
        ):
            raise ValidationError(
                f"dlq_ttl must be None or a non-negative integer (ms), got {dlq_ttl!r}"
            )
        self.backend = backend
        self.dlq_ttl = dlq_ttl
        self.tasks: dict[str, Task] = {}
        self._async_backend: AsyncBackend | None = None

    @property
    def async_backend(self) -> AsyncBackend:
        """The backend's asyncio view (``backend.to_async()``, made once), which
        :meth:`asubmit` and ``task.agenerate()`` await."""
        if self._async_backend is None:
            self._async_backend = self.backend.to_async()
        return self._async_backend

    def __repr__(self) -> str:
        return f"Broker(backend={self.backend!r}, dlq_ttl={self.dlq_ttl!r})"

    def serialize(self) -> dict[str, Any]:
        """The broker's settings, its backend encoded (Alsek 1.3.2's form)."""
        return serialization.broker_settings(self)

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Broker:
        """The broker :meth:`serialize` described, on a fresh backend."""
        return serialization.rebuilt(cls, data)  # type: ignore[no-any-return]

    def register(self, task: Task) -> None:
        """Record ``task`` under its name (the task decorator calls this)."""
        self.tasks[task.name] = task

    def exists(self, message: Message) -> bool:
        """Whether ``message`` is stored in the backend (waiting or running)."""
        return self.backend.exists(message_name(message))

    def submit(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Submit ``message`` to its queue, atomically with ``effects``.

        Raises:
            MessageAlreadyExistsError: if a message with the same uuid is already stored.
            SerializationError: if the message cannot be encoded (nothing is stored).
        """
        self.backend.submit(message, effects=effects)
        log.debug("Submitted %s.", message.summary)

    def submit_many(self, submissions: Sequence[tuple[Message, Effects]]) -> list[bool]:
        """Submit several messages at once, each atomically with its effects.

        Returns:
            Per submission, whether it was stored (False: its uuid was already stored, and
            nothing of it was written).

        Raises:
            SerializationError: if anything cannot be encoded (nothing is stored).
        """
        stored = self.backend.submit_many(submissions)
        log.debug("Submitted %s of %s message(s).", sum(stored), len(stored))
        return stored

    async def asubmit(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """:meth:`submit`, awaited on :attr:`async_backend`."""
        await self.async_backend.submit(message, effects=effects)
        log.debug("Submitted %s.", message.summary)

    async def asubmit_many(self, submissions: Sequence[tuple[Message, Effects]]) -> list[bool]:
        """:meth:`submit_many`, awaited on :attr:`async_backend`."""
        stored = await self.async_backend.submit_many(submissions)
        log.debug("Submitted %s of %s message(s).", sum(stored), len(stored))
        return stored

    def retry(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Count one more retry on ``message`` (in place) and queue it again after its backoff.

        Raises:
            MessageDoesNotExistError: if the message is no longer stored.
        """
        retried = message.clone().increment_retries(self.backend.clock.now_ms())
        retried.lease_token = message.lease_token  # the same lease ends
        self.backend.retry(retried, effects=effects)
        message.update(retries=retried.retries, updated_at=retried.updated_at)
        self.release_linked_lock(message)
        log.debug("Retrying %s in %s ms.", message.summary, f"{message.backoff_duration():,}")

    def remove(self, message: Message) -> None:
        """Remove ``message`` from the backend wherever it is."""
        self.backend.remove(message)
        self.release_linked_lock(message)
        log.debug("Removed %s.", message.summary)

    def ack(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Acknowledge ``message``: it is done and will not be delivered again."""
        self.backend.ack(message, effects=effects)
        self.release_linked_lock(message)
        log.debug("Acked %s.", message.summary)

    def fail(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Remove ``message`` and keep it in the dead letter queue when that is enabled."""
        self.backend.fail(message, dlq_ttl=self.dlq_ttl or None, effects=effects)
        self.release_linked_lock(message)
        log.debug("Failed %s.", message.summary)

    def release_linked_lock(self, message: Message) -> None:
        """Release the lock linked to ``message`` (``Message.link_lock``), if any: a settled
        message lets go of it, as in Alsek 1.3.2. A lock that cannot be released (the backend
        is down) is logged; its TTL frees it."""
        if message.linked_lock is None:
            return
        try:
            message.release_lock(not_linked_ok=True, target_backend=self.backend)
        except BackendError as error:
            log.warning("Could not release the lock linked to %s: %s", message.summary, error)

    def in_dlq(self, message: Message) -> bool:
        """Whether ``message`` is in the dead letter queue."""
        return self.backend.exists(dlq_name(message))

    def workers(self) -> list[WorkerRecord]:
        """The live workers on this broker's backend (the worker registry: each process pool,
        and each process group of a thread pool)."""
        return WorkerRegistry(self.backend).workers()

    def dead_letters(self, queue: str | None = None) -> Iterator[Message]:
        """Messages in the dead letter queue (of ``queue``, or of every queue)."""
        return self.backend.dead_letters(queue)

    def resubmit_dead_letter(self, message: Message) -> Message:
        """Take ``message`` out of the dead letter queue and submit it again, retries reset.

        Returns:
            The resubmitted message.

        Raises:
            MessageDoesNotExistError: if it is not in the dead letter queue.
        """
        if not self.in_dlq(message):
            raise MessageDoesNotExistError(f"{message.summary} is not in the dead letter queue")
        fresh = message.clone().update(retries=0, exception_details=None)
        fresh.created_at = fresh.updated_at = self.backend.clock.now_ms()
        fresh.delay = 0
        self.backend.submit(fresh, effects=Effects(deletes=(dlq_name(message),)))
        return fresh

    def sync_from_backend(self, message: Message) -> Message:
        """The stored version of ``message`` (from the queue, else the dead letter queue).

        Raises:
            MessageDoesNotExistError: if it is in neither.
        """
        for name in (message_name(message), dlq_name(message)):
            data = self.backend.get(name, default=None)
            if data is not None:
                return Message.from_data(data)
        raise MessageDoesNotExistError(f"{message.summary} is not in the backend")
