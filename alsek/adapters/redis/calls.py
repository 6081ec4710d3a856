"""Builds the keys and arguments of each script call, in the order the scripts read them.

Everything is encoded here, before anything is sent: a value the serializer rejects raises
:class:`SerializationError` and nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from alsek.adapters.codec import check_claim, check_lease, check_ttl, dead_letter_ttl
from alsek.adapters.redis.keys import KeyLayout, member
from alsek.adapters.redis.scripts import Call
from alsek.domain.model.effects import Effects
from alsek.domain.model.message import Message
from alsek.ports.serializer import Serializer

_GROUP = 1_000


class CallBuilder:
    """Appends script sections (see ``scripts/lib.lua``) to a :class:`Call`.

    Args:
        keys: the key layout of the backend.
        serializer: encodes bodies and effect values.
    """

    def __init__(self, keys: KeyLayout, serializer: Serializer) -> None:
        self.keys = keys
        self.serializer = serializer

    def queue(self, call: Call, queue: str) -> Call:
        """A queue block: its six index keys and the prefix of its body keys."""
        q = self.keys.queue(queue)
        return call.key(q.slots, q.ready, q.delayed, q.leased, q.seq, q.signal).arg(q.bodies)

    def message(self, call: Call, message: Message) -> Call:
        """The queue block, body key, uuid and task of ``message`` (ack, remove)."""
        self.queue(call, str(message.queue)).key(self.keys.body(message))
        return call.arg(message.uuid, message.task_name)

    def ack_groups(self, call: Call, acks: Sequence[tuple[Message, Effects]]) -> Call:
        """Acknowledgements grouped by queue (``ack_group``): per message its uuid and task,
        and its effects only when it has any."""
        groups: dict[str, list[tuple[Message, Effects]]] = {}
        for message, effects in acks:
            groups.setdefault(str(message.queue), []).append((message, effects))
        call.arg(len(groups))
        for queue, members in groups.items():
            self.queue(call, queue).arg(len(members))
            for message, effects in members:
                call.arg(message.uuid, message.task_name, 1 if effects else 0)
                if effects:
                    self.effects(call, effects)
        return call

    def submit(self, call: Call, message: Message) -> Call:
        """One submission (``submit_one``)."""
        raw = self.serializer.forward(message.data)
        ready_at = message.ready_at  # raises for bad backoff settings, before any write
        self.queue(call, str(message.queue)).key(
            self.keys.body(message), self.keys.queue_set_of(str(message.queue))
        )
        return call.arg(
            raw, message.uuid, message.task_name, message.priority, ready_at, message.queue
        )

    def submit_many(self, call: Call, submissions: Sequence[tuple[Message, Effects]]) -> Call:
        """Several submissions, each with its effects and their sizes (``submit_many``)."""
        call.arg(len(submissions))
        for message, effects in submissions:
            block = self.effects(Call(0), effects)
            call.arg(len(block.keys), len(block.args) - 1)  # Call(0) starts with a ``now``
            self.submit(call, message)
            call.key(*block.keys).arg(*block.args[1:])
        return call

    def effects(self, call: Call, effects: Effects) -> Call:
        """Writes, deletes, submits and publishes, applied after the operation."""
        if not effects:
            return call.arg(0, 0, 0, 0)
        forward, full = self.serializer.forward, self.keys.full_name
        call.arg(
            len(effects.writes), len(effects.deletes), len(effects.submits), len(effects.publishes)
        )
        for write in effects.writes:
            ttl = check_ttl(write.ttl_ms, "ttl_ms")
            call.key(full(write.name)).arg(forward(write.value), "" if ttl is None else ttl)
        call.key(*(full(name) for name in effects.deletes))
        for message in effects.submits:
            self.submit(call, message)
        for publish in effects.publishes:
            call.arg(full(publish.channel), forward(publish.value))
        return call

    def claim(self, call: Call, queues: Sequence[str], limit: int, lease_ms: int) -> Call:
        """A claim over ``queues`` (in order, duplicates dropped)."""
        check_claim(limit, lease_ms)
        unique = list(dict.fromkeys(queues))
        call.arg(limit, lease_ms, len(unique))
        for queue in unique:
            self.queue(call, queue)
        return call

    def retry(self, call: Call, message: Message) -> Call:
        """A retry: the updated body and where to index it."""
        raw = self.serializer.forward(message.data)
        ready_at = message.ready_at
        self.queue(call, str(message.queue)).key(
            self.keys.body(message), self.keys.queue_set_of(str(message.queue))
        )
        return call.arg(
            raw, message.uuid, message.task_name, message.priority, ready_at, message.queue
        )

    def fail(self, call: Call, message: Message, dlq_ttl: int | None) -> Call:
        """A failure, keeping the body as a dead letter for ``dlq_ttl`` ms when positive."""
        keep = dead_letter_ttl(dlq_ttl)
        raw = self.serializer.forward(message.data) if keep else b""
        self.queue(call, str(message.queue))
        call.key(self.keys.body(message), self.keys.dead_letter(message))
        return call.arg(message.uuid, message.task_name, raw, keep)

    def release(self, call: Call, messages: Sequence[Message]) -> Call:
        """Leased messages back to ready."""
        call.arg(len(messages))
        for message in messages:
            self.queue(call, str(message.queue)).arg(message.uuid, message.task_name)
        return call

    def extend(self, call: Call, messages: Sequence[Message], lease_ms: int) -> list[int]:
        """Lease renewals, grouped by queue. Returns, for each position the script numbers,
        the index of the message in ``messages``."""
        check_lease(lease_ms)
        by_queue: dict[str, list[int]] = {}
        for index, message in enumerate(messages):
            by_queue.setdefault(str(message.queue), []).append(index)
        groups = [  # Lua's unpack() takes a few thousand values at most: 1,000 per group
            (queue, indexes[start : start + _GROUP])
            for queue, indexes in by_queue.items()
            for start in range(0, len(indexes), _GROUP)
        ]
        call.arg(lease_ms, len(groups))
        for queue, indexes in groups:
            call.key(self.keys.queue(queue).leased).arg(len(indexes))
            call.arg(*(member(messages[index]) for index in indexes))
        return [index for _, indexes in groups for index in indexes]

    def poll(self, call: Call, queues: Sequence[str]) -> Call:
        """Whether any of ``queues`` has work now."""
        call.arg(len(queues))
        for queue in queues:
            q = self.keys.queue(queue)
            call.key(q.ready, q.delayed, q.leased)
        return call
