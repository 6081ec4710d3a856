"""The steps the in-memory message queue's operations are made of, each run with the store's
lock held: finding a message's slot and holder, indexing, dropping, leasing, effects, repair."""

from __future__ import annotations

import logging

from alsek.adapters.codec import LeaseTokens, dead_letter_name, decode_message
from alsek.adapters.memory.encoding import EncodedEffects, EncodedMessage, Encoder
from alsek.adapters.memory.index import QueueIndex, Slot
from alsek.adapters.memory.store import MemoryStore
from alsek.adapters.memory.table import Raw, expiry
from alsek.domain.model.errors import CorruptMessageError, LeaseLostError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name
from alsek.ports.clock import Clock
from alsek.ports.serializer import Serializer

log = logging.getLogger("alsek.adapters.memory")


class QueueSteps:
    """State and locked steps of a :class:`~alsek.adapters.memory.queue.MemoryMessageQueue`.

    Args:
        store: the shared state.
        namespace: prefix of every stored name.
        serializer: encodes bodies and effect values.
        clock: source of time in ms (delays and leases follow it).
        max_message_bytes: the longest body a submission may have (None: no limit).
    """

    def __init__(
        self,
        store: MemoryStore,
        namespace: str,
        serializer: Serializer,
        clock: Clock,
        *,
        max_message_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.namespace = namespace
        self.serializer = serializer
        self.clock = clock
        encoder = Encoder(namespace, serializer, max_message_bytes)
        self._encode, self._encode_effects = encoder.message, encoder.effects
        self._tokens = LeaseTokens()

    def full_name(self, name: str) -> str:
        """The stored name of the short ``name``."""
        return f"{self.namespace}:{name}"

    def short_name(self, name: str) -> str:
        """The inverse of :meth:`full_name`."""
        return name[len(self.namespace) + 1 :]

    def _repair(self, queue: str, name: str, raw: Raw, now: int) -> int:
        index = self.store.queue(self.namespace, queue)
        uuid = name.rpartition(":")[2]
        slot = index.slots.get(uuid) if index else None
        if slot is not None:  # indexed (a slot is always in one set), or another task's uuid
            return 0
        short = self.short_name(name)
        try:
            message = decode_message(self.serializer, raw, short)
            if self.full_name(message_name(message)) != name:
                raise CorruptMessageError(f"{short!r} holds another message", name=short)
        except CorruptMessageError as error:
            log.error("Moving corrupt message body %r to the dead letter queue: %s",
                      short, error)  # fmt: skip
            self.store.values.pop(name, now)
            self.store.values.put(self.full_name(dead_letter_name(short)), raw)
            return 0
        self._index(self._encode(message, submission=False), now)
        return 1

    def _slot(self, message: Message) -> tuple[QueueIndex, Slot] | None:
        """The index and slot of ``message``, if this very message is indexed."""
        index = self.store.queue(self.namespace, str(message.queue))
        slot = index.slots.get(str(message.uuid)) if index else None
        if index is None or slot is None or slot.name != self.full_name(message_name(message)):
            return None
        return index, slot

    def _held_by_other(self, message: Message) -> bool:
        """Whether another consumer than ``message``'s holder leases it now."""
        found = self._slot(message)
        return found is not None and found[0].held_by_other(str(message.uuid), message.lease_token)

    def _check_holder(self, message: Message) -> None:
        """Raise :class:`LeaseLostError` if another consumer leases ``message`` now."""
        if self._held_by_other(message):
            raise LeaseLostError(
                f"{message.summary}: its lease lapsed and another consumer holds it now; "
                "this call changed nothing"
            )

    def _is_stored(self, message: Message, now: int) -> bool:
        """Whether a live body of this message, or of another with its uuid in its queue, exists."""
        if self.store.values.exists(self.full_name(message_name(message)), now):
            return True
        index = self.store.queue(self.namespace, str(message.queue))
        slot = index.slots.get(str(message.uuid)) if index else None
        return slot is not None and self.store.values.exists(slot.name, now)

    def _index(self, body: EncodedMessage, now: int) -> None:
        message = body.message
        queue = str(message.queue)
        self.store.values.put(body.name, body.raw)
        index = self.store.queue_for_submit(self.namespace, queue)
        index.add(
            str(message.uuid), name=body.name, priority=message.priority,
            ready_at=body.ready_at, now_ms=now, task=message.task_name,
        )  # fmt: skip
        self.store.signal(self.namespace, [queue])

    def _drop(self, message: Message, now: int) -> bool:
        body = self.store.values.pop(self.full_name(message_name(message)), now) is not None
        found = self._slot(message)
        indexed = found is not None and found[0].discard(str(message.uuid))
        return body or indexed

    def _lease(
        self, index: QueueIndex, uuid: str, now: int, lease: tuple[int, str],
        claimed: list[Message], corrupt: list[str],
    ) -> None:  # fmt: skip
        """Lease the message just taken from the ready set until ``lease[0]`` to the holder of
        token ``lease[1]``, or clear out its broken remains."""
        name = index.slots[uuid].name
        raw = self.store.values.get(name, now)
        if raw is None:
            log.warning("Dropped index entry of %r: its body is gone", self.short_name(name))
            index.discard(uuid)
            return
        try:
            message = decode_message(self.serializer, raw, self.short_name(name))
        except CorruptMessageError as error:
            log.error("Moved corrupt message body to the dead letter queue: %s", error)
            self.store.values.pop(name, now)
            self.store.values.put(self.full_name(dead_letter_name(error.name)), raw)
            index.discard(uuid)
            corrupt.append(error.name)
            return
        message.lease_token = lease[1]
        claimed.append(message)
        index.lease(uuid, *lease)

    def _apply(self, effects: EncodedEffects, now: int) -> None:
        """Submits (skipping messages already stored), then writes, deletes and publishes."""
        self._submit_effects(effects, now)
        self._commit_effects(effects, now)

    def _submit_effects(self, effects: EncodedEffects, now: int) -> None:
        """The submits of ``effects`` (skipping messages already stored): an operation applies
        them before its own changes, as the Redis scripts do (there, they are what can fail)."""
        for body in effects.submits:
            if not self._is_stored(body.message, now):
                self._index(body, now)

    def _commit_effects(self, effects: EncodedEffects, now: int) -> None:
        """The writes, deletes and publishes of ``effects``, after the operation's changes."""
        for key, raw, ttl in effects.writes:
            self.store.values.put(key, raw, expiry(now, ttl))
        for key in effects.deletes:
            self.store.values.pop(key, now)
        for channel, raw in effects.publishes:
            self.store.hub.publish(channel, raw)
