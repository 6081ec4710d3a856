"""Queue administration on the in-memory queue (see :mod:`alsek.ports.admin`): each operation
under the store's lock, with the same rules as the Redis scripts."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from alsek.adapters.codec import dead_letter_prefix, decode_message
from alsek.adapters.memory.steps import QueueSteps
from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.errors import CorruptMessageError, MessageAlreadyExistsError
from alsek.domain.model.inspection import HEAD_BANDS, Located, QueueCounts, oldest_ready_age_ms
from alsek.domain.model.message import Message
from alsek.domain.model.naming import dlq_name, validate_queue_name
from alsek.ports.admin import PURGE_BATCH, QueueAdmin

log = logging.getLogger("alsek.adapters.memory")

#: Dead letters per page.
PAGE = 500


class MemoryQueueAdmin(QueueSteps, QueueAdmin):
    """The administration half of :class:`~alsek.adapters.memory.queue.MemoryMessageQueue`."""

    def queue_counts(self, queue: str) -> QueueCounts:
        """Counts of ``queue`` and the age of its oldest ready message; see the port."""
        validate_queue_name(queue)
        with self.store.lock:
            now = self.clock.now_ms()
            index = self.store.queue(self.namespace, queue)
            if index is None:
                return QueueCounts(queue=queue)
            ready, due, delayed, leased = index.counts(now)
            ready_ats = [
                r for u in index.band_heads(HEAD_BANDS) if (r := self._ready_at(index, u, now))
            ]
            first_due = index.first_due(now)
        if first_due is not None:
            ready_ats.append(first_due)
        return QueueCounts(
            queue=queue, ready=ready + due, delayed=delayed, leased=leased,
            oldest_ready_age_ms=oldest_ready_age_ms(now, ready_ats),
        )  # fmt: skip

    def _ready_at(self, index: object, uuid: str, now: int) -> int | None:
        name = index.slots[uuid].name  # type: ignore[attr-defined]
        raw = self.store.values.get(name, now)
        try:
            return None if raw is None else decode_message(self.serializer, raw, name).ready_at
        except CorruptMessageError:
            return None

    def count_dead_letters(self, queue: str) -> int:
        """How many dead letters ``queue`` has."""
        with self.store.lock:
            prefix = self.full_name(dead_letter_prefix(validate_queue_name(queue)))
            return len(self.store.values.keys(prefix, self.clock.now_ms()))

    def find(self, uuid: str) -> Located | None:
        """The message stored under ``uuid`` and its state; see the port."""
        with self.store.lock:
            now = self.clock.now_ms()
            for queue in self.store.queue_names(self.namespace):
                index = self.store.queue(self.namespace, queue)
                state = index.state(uuid) if index is not None else None
                if index is not None and state is not None:
                    name = index.slots[uuid].name
                    raw = self.store.values.get(name, now)
                    if raw is not None:
                        message = decode_message(self.serializer, raw, self.short_name(name))
                        return Located(message, state)
            suffix = f":messages:{uuid}"
            dead = self.full_name(dead_letter_prefix(None))
            for key, raw in self.store.values.items(dead, now):
                if key.endswith(suffix):
                    message = decode_message(self.serializer, raw, self.short_name(key))
                    return Located(message, "dead")
        return None

    def requeue_dead_letter(
        self, dead: Message, fresh: Message, *, effects: Effects = NO_EFFECTS
    ) -> bool:
        """Submit ``fresh`` and drop the dead letter ``dead``, if it is there; see the port."""
        body, encoded = self._encode(fresh), self._encode_effects(effects)
        with self.store.lock:
            now = self.clock.now_ms()
            name = self.full_name(dlq_name(dead))
            if not self.store.values.exists(name, now):
                return False
            if self._is_stored(fresh, now):
                raise MessageAlreadyExistsError(f"{fresh.summary} already exists")
            self._submit_effects(encoded, now)
            self._index(body, now)
            self.store.values.pop(name, now)
            self._commit_effects(encoded, now)
        return True

    def delete_dead_letters(self, messages: Sequence[Message]) -> int:
        """Drop ``messages`` from the dead letter queue; return how many were there."""
        with self.store.lock:
            now = self.clock.now_ms()
            names = [self.full_name(dlq_name(m)) for m in messages]
            return sum(self.store.values.pop(name, now) is not None for name in names)

    def purge_step(self, queue: str, *, limit: int = PURGE_BATCH) -> int:
        """Remove up to ``limit`` waiting messages of ``queue``; see the port."""
        validate_queue_name(queue)
        with self.store.lock:
            now = self.clock.now_ms()
            index = self.store.queue(self.namespace, queue)
            if index is None:
                return 0
            uuids = index.waiting(limit)
            for uuid in uuids:
                self.store.values.pop(index.slots[uuid].name, now)
                index.discard(uuid)
            return len(uuids)

    def dead_letter_pages(self, queue: str | None = None) -> Iterator[list[Message]]:
        """The dead letters (of ``queue``, or of every queue), a page at a time."""
        letters = list(self.dead_letters(queue))  # type: ignore[attr-defined]
        for start in range(0, len(letters), PAGE):
            yield letters[start : start + PAGE]
