"""The in-memory message queue: every queue operation under the store's one lock, so each is
atomic. Values are kept encoded, as Redis keeps them, and everything is encoded before anything
changes, so a value the serializer rejects leaves nothing half-written."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterator, Sequence

from attrs import evolve

from alsek.adapters.codec import (
    check_claim,
    check_lease,
    check_ttl,
    dead_letter_prefix,
    dead_letter_ttl,
    decode_dead_letters,
)
from alsek.adapters.memory.admin import MemoryQueueAdmin
from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.errors import (
    MessageAlreadyExistsError,
    MessageDoesNotExistError,
)
from alsek.domain.model.message import Message
from alsek.domain.model.naming import dlq_name
from alsek.ports.queue import Claim, MessageQueue

log = logging.getLogger("alsek.adapters.memory")


class MemoryMessageQueue(MemoryQueueAdmin, MessageQueue):
    """Message queues in this process's memory (the queue half of an
    :class:`~alsek.adapters.memory.InMemoryBackend`, which builds it).

    Args:
        store: the shared state.
        namespace: prefix of every stored name.
        serializer: encodes bodies and effect values.
        clock: source of time in ms (delays and leases follow it).
        max_message_bytes: the longest body a submission may have (None: no limit).
    """

    def submit(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store and index ``message``; see :meth:`MessageQueue.submit`."""
        body, encoded = self._encode(message), self._encode_effects(effects)
        with self.store.lock:
            now = self.clock.now_ms()
            if self._is_stored(message, now):
                raise MessageAlreadyExistsError(f"{message.summary} already exists")
            self._submit_effects(encoded, now)
            self._index(body, now)
            self._commit_effects(encoded, now)

    def apply(self, effects: Effects) -> None:
        """Apply ``effects`` in one step; see :meth:`MessageQueue.apply`."""
        encoded = self._encode_effects(effects)
        with self.store.lock:
            self._apply(encoded, self.clock.now_ms())

    def submit_many(self, submissions: Sequence[tuple[Message, Effects]]) -> list[bool]:
        """Store and index every new message with its effects, in one step; see
        :meth:`MessageQueue.submit_many`."""
        encoded = [(m, self._encode(m), self._encode_effects(e)) for m, e in submissions]
        stored = []
        with self.store.lock:
            now = self.clock.now_ms()
            for message, body, effects in encoded:
                new = not self._is_stored(message, now)
                if new:
                    self._submit_effects(effects, now)
                    self._index(body, now)
                    self._commit_effects(effects, now)
                stored.append(new)
        return stored

    def claim(
        self,
        queues: Sequence[str],
        *,
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """Lease up to ``limit`` ready messages (of ``tasks`` only, when given); see
        :meth:`MessageQueue.claim`."""
        check_claim(limit, lease_ms)
        claimed: list[Message] = []
        corrupt: list[str] = []
        token = self._tokens.next()
        with self.store.lock:
            now = self.clock.now_ms()
            indexes = [
                i for q in dict.fromkeys(queues) if (i := self.store.queue(self.namespace, q))
            ]
            for index in indexes:
                index.promote(now)
                while len(claimed) < limit and (uuid := index.pop_ready(tasks)) is not None:
                    self._lease(index, uuid, now, (now + lease_ms, token), claimed, corrupt)
            due = [d for d in (index.next_due() for index in indexes) if d is not None]
        return Claim(messages=claimed, corrupt=corrupt, next_due_ms=min(due, default=None))

    def extend(self, messages: Sequence[Message], *, lease_ms: int) -> list[Message]:
        """Renew leases to ``now + lease_ms``; return the messages that are not leased any more."""
        check_lease(lease_ms)
        with self.store.lock:
            expires_at = self.clock.now_ms() + lease_ms
            lost = []
            for message in messages:
                found = self._slot(message)
                if found is None or not found[0].renew(
                    str(message.uuid), expires_at, message.lease_token
                ):
                    lost.append(message)
            return lost

    def ack(self, message: Message, *, effects: Effects = NO_EFFECTS) -> bool:
        """Finish ``message`` and apply ``effects``; see :meth:`MessageQueue.ack`."""
        encoded = self._encode_effects(effects)
        with self.store.lock:
            self._check_holder(message)
            now = self.clock.now_ms()
            self._submit_effects(encoded, now)
            existed = self._drop(message, now)
            self._commit_effects(encoded, now)
            return existed

    def ack_many_and_claim(
        self,
        acks: Sequence[tuple[Message, Effects]],
        *,
        queues: Sequence[str],
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """Ack each message of ``acks`` with its effects, then claim; every effect is encoded
        first, so an unencodable one applies nothing. See the port."""
        check_claim(limit, lease_ms)
        encoded = [(message, self._encode_effects(effects)) for message, effects in acks]
        lost = []
        with self.store.lock:
            now = self.clock.now_ms()
            for message, effects in encoded:
                if self._held_by_other(message):
                    lost.append(message)
                    continue
                self._submit_effects(effects, now)
                self._drop(message, now)
                self._commit_effects(effects, now)
            claim = self.claim(queues, limit=limit, lease_ms=lease_ms, tasks=tasks)
        return evolve(claim, lost=lost) if lost else claim

    def retry(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store the updated ``message`` and index it by its ``ready_at``; see the port."""
        body = self._encode(message, submission=False)
        encoded = self._encode_effects(effects)
        with self.store.lock:
            now = self.clock.now_ms()
            if not self.store.values.exists(body.name, now):
                raise MessageDoesNotExistError(f"{message.summary} is not stored")
            self._check_holder(message)
            self._submit_effects(encoded, now)
            self._index(body, now)
            self._commit_effects(encoded, now)

    def fail(self, message: Message, *, dlq_ttl: int | None, effects: Effects = NO_EFFECTS) -> None:
        """Remove ``message``, keeping it as a dead letter for ``dlq_ttl`` ms if positive."""
        keep = dead_letter_ttl(dlq_ttl)
        raw = self.serializer.forward(message.data) if keep else None
        encoded = self._encode_effects(effects)
        with self.store.lock:
            self._check_holder(message)
            now = self.clock.now_ms()
            self._submit_effects(encoded, now)
            if raw is not None:
                self.store.values.put(self.full_name(dlq_name(message)), raw, now + keep)
            self._drop(message, now)
            self._commit_effects(encoded, now)

    def release(self, messages: Sequence[Message], *, delay_ms: int = 0) -> list[Message]:
        """Make leased ``messages`` ready at once (or in ``delay_ms``), in their original place
        in the queue; return those not released (no longer leased by their holder)."""
        check_ttl(delay_ms, "delay_ms")
        kept: list[Message] = []
        with self.store.lock:
            ready_at = self.clock.now_ms() + delay_ms if delay_ms else None
            released: list[str] = []
            for message in messages:
                found = self._slot(message)
                if found is not None and found[0].release(
                    str(message.uuid), message.lease_token, ready_at
                ):
                    released.append(str(message.queue))
                else:
                    kept.append(message)
            if released:
                self.store.signal(self.namespace, released)
        return kept

    def remove(self, message: Message) -> bool:
        """Delete ``message`` wherever it is; return whether it was stored."""
        with self.store.lock:
            return self._drop(message, self.clock.now_ms())

    def depth(self, queue: str) -> int:
        """How many messages wait in ``queue`` (ready or delayed)."""
        with self.store.lock:
            index = self.store.queue(self.namespace, queue)
            return index.depth() if index else 0

    def queues(self) -> list[str]:
        """Every queue ever submitted to (since the namespace was last cleared), sorted."""
        with self.store.lock:
            return self.store.queue_names(self.namespace)

    def wait_for_work(
        self, queues: Sequence[str], timeout_ms: int, *, tasks: Collection[str] | None = None
    ) -> bool:
        """Block until ``queues`` may have work (for ``tasks``, when given) or ``timeout_ms``
        passes; see the port. Returns at once (True) if a claim would already find work."""
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        with self.store.condition:
            now = self.clock.now_ms()
            for queue in queues:
                index = self.store.queue(self.namespace, queue)
                if index is not None and index.has_work(now, tasks):
                    return True
            marks = self.store.signal_marks(self.namespace, queues)
            while self.store.signal_marks(self.namespace, queues) == marks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.store.condition.wait(remaining)
            return True

    def repair(self, queues: Sequence[str]) -> int:
        """Index again stored bodies of ``queues`` that no index holds; see the port."""
        fixed = 0
        with self.store.lock:
            now = self.clock.now_ms()
            for queue in dict.fromkeys(queues):
                prefix = self.full_name(f"queues:{queue}:tasks:")
                for name, raw in self.store.values.items(prefix, now):
                    fixed += self._repair(queue, name, raw, now)
        return fixed

    def dead_letters(self, queue: str | None = None) -> Iterator[Message]:
        """Messages in the dead letter queue; unreadable entries are logged and skipped."""
        with self.store.lock:
            found = self.store.values.items(
                self.full_name(dead_letter_prefix(queue)), self.clock.now_ms()
            )
        entries = [(self.short_name(key), raw) for key, raw in found]
        return iter(decode_dead_letters(self.serializer, entries, log))
