"""The message queue port. It speaks the queue's language: every operation is one atomic step.

Queue model (the contract every adapter keeps, checked by ``tests/contract``):

* A submitted message is *ready* (``ready_at <= now``) or *delayed*. Ready messages are ordered by
  priority (lower first), then submission order.
* ``claim`` first returns expired leases and due delayed messages to the ready set, then leases up
  to ``limit`` ready messages, queue by queue in the order given. A leased message is invisible to
  other claims until its lease expires, it is acked, retried, failed, released or removed.
* ``ack``/``retry``/``fail`` end a lease; each applies its :class:`Effects` in the same atomic step.
* Every lease has an owner: ``claim`` sets a token on each message it returns
  (:attr:`Message.lease_token`), and ``extend``, ``release``, ``ack``, ``retry`` and ``fail``
  act only for the lease's holder. A holder whose lease lapsed and was taken by another
  consumer changes nothing (``ack``/``retry``/``fail`` raise :class:`LeaseLostError`, the
  batched and renewing calls report it). A message without a token (built by hand) is an
  administrator's: its calls act whoever holds the lease.
* Time: a backend on an explicit clock uses ``clock.now_ms()``; the Redis adapter on the system
  clock takes leases and due times from the server's clock, so that workers whose clocks
  disagree never take each other's messages early. Delays are relative: a message waits
  ``ready_at - clock.now_ms()`` from its submission, whatever clock runs the queue.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

from attrs import field, frozen

from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.errors import MessageAlreadyExistsError
from alsek.domain.model.message import Message
from alsek.ports.clock import Clock


@frozen
class Claim:
    """What one ``claim`` call returned.

    Attributes:
        messages: the leased messages, best first.
        corrupt: names of bodies that could not be decoded; the backend logged each one and moved
            its raw bytes to the dead letter queue, so nothing is lost silently.
        next_due_ms: when the earliest delayed message or lease among the claimed queues falls due
            (ms since the epoch, on the queue's clock), or None if there is none; lets an idle
            consumer sleep exactly. A claim that stopped at its cap on work with work left says
            now, so the consumer comes straight back.
        lost: messages of ``ack_many_and_claim`` not acknowledged because another consumer holds
            their lease now (nothing of theirs was written).
        broken: queues skipped because their stored keys are damaged (queue -> the error); the
            other queues were served.
    """

    messages: list[Message] = field(factory=list)
    corrupt: list[str] = field(factory=list)
    next_due_ms: int | None = None
    lost: list[Message] = field(factory=list)
    broken: dict[str, str] = field(factory=dict)


class MessageQueue(ABC):
    """Messages stored, indexed, leased and finished, each operation in one atomic step.

    Attributes:
        clock: source of time in ms for delays and leases.
    """

    clock: Clock

    @abstractmethod
    def submit(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store and index ``message`` (ready or delayed by ``ready_at``), with ``effects``.

        Raises:
            MessageAlreadyExistsError: if a message with this uuid is stored in its queue.
            SerializationError: if the message or an effect cannot be encoded; nothing is written.
        """

    @abstractmethod
    def apply(self, effects: Effects) -> None:
        """Apply ``effects`` on their own (writes, deletes, submits, then publishes), atomically.

        Raises:
            SerializationError: if an effect cannot be encoded; nothing is applied.
        """

    def submit_many(self, submissions: Sequence[tuple[Message, Effects]]) -> list[bool]:
        """:meth:`submit` each ``(message, effects)`` of ``submissions``, skipping those whose
        uuid is already stored (nothing of theirs is written, effects included).

        Adapters may do it all in one round trip. Every message and effect is encoded before
        anything is written.

        Returns:
            Per submission, whether it was stored.

        Raises:
            SerializationError: if anything cannot be encoded; nothing is written.
        """
        stored = []
        for message, effects in submissions:
            try:
                self.submit(message, effects=effects)
            except MessageAlreadyExistsError:
                stored.append(False)
            else:
                stored.append(True)
        return stored

    @abstractmethod
    def claim(self, queues: Sequence[str], *, limit: int, lease_ms: int) -> Claim:
        """Lease up to ``limit`` ready messages from ``queues`` (in that order of preference).

        Raises:
            ValidationError: if ``limit`` is not a non-negative int or ``lease_ms`` not a
                positive int (bools are neither).
        """

    def ack_many_and_claim(
        self,
        acks: Sequence[tuple[Message, Effects]],
        *,
        queues: Sequence[str],
        limit: int,
        lease_ms: int,
    ) -> Claim:
        """:meth:`ack` each ``(message, effects)`` of ``acks`` in order, then :meth:`claim`.

        Adapters may do it all in one round trip (the Redis adapter does, in one atomic step).
        Every effect is encoded before anything is written: a ``SerializationError`` means
        nothing was applied.
        """
        for message, effects in acks:
            self.ack(message, effects=effects)
        return self.claim(queues, limit=limit, lease_ms=lease_ms)

    @abstractmethod
    def extend(self, messages: Sequence[Message], *, lease_ms: int) -> list[Message]:
        """Renew the leases of ``messages`` to ``now + lease_ms``; return those no longer
        leased by their holder (lapsed and taken by another consumer, or finished)."""

    @abstractmethod
    def ack(self, message: Message, *, effects: Effects = NO_EFFECTS) -> bool:
        """Finish ``message``: drop its body, indexes and lease, and apply ``effects``.

        Returns:
            Whether the message was still stored (False: someone else finished or removed it;
            the effects are applied anyway).

        Raises:
            LeaseLostError: if another consumer holds the message's lease now (nothing written).
        """

    @abstractmethod
    def retry(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store the updated ``message`` (more retries, new ``updated_at``) and index it again,
        delayed until its ``ready_at``; drop its lease; apply ``effects``.

        Raises:
            MessageDoesNotExistError: if the message is no longer stored (nothing is written).
            LeaseLostError: if another consumer holds the message's lease now (nothing written).
        """

    @abstractmethod
    def fail(self, message: Message, *, dlq_ttl: int | None, effects: Effects = NO_EFFECTS) -> None:
        """Remove ``message``; keep it in the dead letter queue for ``dlq_ttl`` ms when that is
        not None (0 or None: not kept); apply ``effects``.

        Raises:
            LeaseLostError: if another consumer holds the message's lease now (nothing written).
        """

    @abstractmethod
    def release(self, messages: Sequence[Message], *, delay_ms: int = 0) -> list[Message]:
        """Give leased ``messages`` back: ready again at once, in their original priority (or,
        with ``delay_ms``, ready that many ms from now, still in their place).

        Returns:
            The messages not released: no longer leased by their holder.
        """

    @abstractmethod
    def remove(self, message: Message) -> bool:
        """Delete ``message`` wherever it is (ready, delayed or leased); return whether it was."""

    @abstractmethod
    def depth(self, queue: str) -> int:
        """How many messages wait in ``queue`` (ready or delayed; leased ones not counted)."""

    @abstractmethod
    def queues(self) -> list[str]:
        """Every queue that has ever been submitted to, sorted alphabetically."""

    @abstractmethod
    def wait_for_work(self, queues: Sequence[str], timeout_ms: int) -> bool:
        """Block until a submission to one of ``queues`` may have made work, or ``timeout_ms``
        passes. Returns whether it was woken (False: timed out). Never busy-polls."""

    def wait_and_claim(
        self, queues: Sequence[str], *, timeout_ms: int, limit: int, lease_ms: int
    ) -> Claim:
        """:meth:`wait_for_work` then :meth:`claim` (for an idle consumer).

        Adapters may send both at once, so that the claim runs the moment a submission ends the
        wait. Such a claim may use the time the wait began (delayed messages that fell due
        during the wait are left to the next claim, never taken early) and lease for
        ``lease_ms`` plus the wait.
        """
        self.wait_for_work(queues, timeout_ms)
        return self.claim(queues, limit=limit, lease_ms=lease_ms)

    @abstractmethod
    def dead_letters(self, queue: str | None = None) -> Iterator[Message]:
        """Messages in the dead letter queue (of ``queue``, or of all queues)."""

    def repair(self, queues: Sequence[str]) -> int:
        """Index again the stored message bodies of ``queues`` that no index holds (left by a
        step that failed halfway in an older version, or written by hand); unreadable ones go to
        the dead letter queue. An administrator's call (it scans): workers run it at start.

        Returns:
            How many messages were indexed again.
        """
        return 0

    def check_health(self, queues: Sequence[str], *, lease_ms: int) -> list[str]:
        """Check, before a worker starts, that the store can serve ``queues`` with leases of
        ``lease_ms``.

        Returns:
            Warnings to log (the worker starts anyway).

        Raises:
            BackendError: if the store cannot serve them (e.g. a queue's keys are damaged:
                :class:`QueueDamagedError`); the message says what to fix.
        """
        return []
