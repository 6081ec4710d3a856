"""Builds the keys and arguments of each script call, in the order the scripts read them.

Everything is encoded here, before anything is sent: a value the serializer rejects raises
:class:`SerializationError` and nothing is written. Times go relative: a message's ``ready_at``
becomes a wait from the call's ``now_ms``, which the script adds to its own now (Redis' clock,
or the same ``now_ms``).
"""

from __future__ import annotations

from collections.abc import Sequence

from alsek.adapters.codec import (
    check_body_size,
    check_claim,
    check_lease,
    check_ttl,
    dead_letter_ttl,
)
from alsek.adapters.redis.keys import KeyLayout, member
from alsek.adapters.redis.scripts import Call
from alsek.domain.model.effects import Effects
from alsek.domain.model.message import Message
from alsek.ports.serializer import Serializer

_GROUP = 1_000
_NO_EFFECTS = (0, 0, 0, 0)


def token_of(message: Message) -> str:
    """The owner token ``message`` carries ('' for a message not claimed: an admin's call)."""
    return message.lease_token or ""


class CallBuilder:
    """Appends script sections (see ``scripts/lib.lua``) to a :class:`Call`.

    Args:
        keys: the key layout of the backend.
        serializer: encodes bodies and effect values.
        max_message_bytes: the longest encoded body a submission may have (None: no limit).
    """

    def __init__(
        self, keys: KeyLayout, serializer: Serializer, max_message_bytes: int | None = None
    ) -> None:
        self.keys = keys
        self.serializer = serializer
        self.max_message_bytes = max_message_bytes

    def queue(self, call: Call, queue: str) -> Call:
        """A queue block: its six index keys and the prefix of its body keys."""
        q = self.keys.queue(queue)
        return call.key(q.slots, q.ready, q.delayed, q.leased, q.seq, q.signal).arg(q.bodies)

    def message(self, call: Call, message: Message, token: str | None = None) -> Call:
        """The queue block, body key, uuid, task and owner token of ``message`` (ack; remove
        passes the empty token)."""
        self.queue(call, str(message.queue)).key(self.keys.body(message))
        return call.arg(
            message.uuid, message.task_name, token_of(message) if token is None else token
        )

    def ack_groups(self, call: Call, acks: Sequence[tuple[Message, Effects]]) -> list[int]:
        """Acknowledgements grouped by queue (``ack_group``): per message its uuid, task, token
        and effects. Returns, for each position the script numbers, the index in ``acks``."""
        groups: dict[str, list[int]] = {}
        for index, (message, _) in enumerate(acks):
            groups.setdefault(str(message.queue), []).append(index)
        call.arg(len(groups))
        for queue, indexes in groups.items():
            self.queue(call, queue).arg(len(indexes))
            for index in indexes:
                message, effects = acks[index]
                call.arg(message.uuid, message.task_name, token_of(message))
                self.effects(call, effects)
        return [index for indexes in groups.values() for index in indexes]

    def submit(self, call: Call, message: Message) -> Call:
        """One submission (``submit_one``): waits ``ready_at - now`` (ready when <= 0)."""
        raw = self.serializer.forward(message.data)
        check_body_size(raw, self.max_message_bytes, message)
        wait = message.ready_at - call.now_ms  # raises for bad backoff settings, before any write
        q = str(message.queue)
        self.queue(call, q).key(self.keys.body(message), self.keys.queue_set_of(q))
        return call.arg(raw, message.uuid, message.task_name, message.priority, wait, message.queue)

    def submit_many(self, call: Call, submissions: Sequence[tuple[Message, Effects]]) -> Call:
        """Several submissions, each followed by its effects (``submit_many``)."""
        call.arg(len(submissions))
        for message, effects in submissions:
            self.submit(call, message)
            self.effects(call, effects)
        return call

    def effects(self, call: Call, effects: Effects) -> Call:
        """Writes, deletes, submits and publishes, applied with the operation."""
        if not effects:
            return call.arg(*_NO_EFFECTS)
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

    def claim(
        self,
        call: Call,
        queues: Sequence[str],
        limit: int,
        lease_ms: int,
        token: str,
        tasks: Sequence[str] = (),
    ) -> Call:
        """A claim over ``queues`` (in order, duplicates dropped) for the holder of ``token``, of
        messages of ``tasks`` only when given."""
        check_claim(limit, lease_ms)
        unique = list(dict.fromkeys(queues))
        call.arg(limit, lease_ms, token, len(tasks), *tasks, len(unique))
        for queue in unique:
            self.queue(call, queue)
        return call

    def retry(self, call: Call, message: Message) -> Call:
        """A retry: the updated body, where to index it, and the holder's token."""
        raw = self.serializer.forward(message.data)
        wait = message.ready_at - call.now_ms
        q = str(message.queue)
        self.queue(call, q).key(self.keys.body(message), self.keys.queue_set_of(q))
        return call.arg(
            raw, message.uuid, message.task_name, message.priority, wait, message.queue,
            token_of(message),
        )  # fmt: skip

    def fail(self, call: Call, message: Message, dlq_ttl: int | None) -> Call:
        """A failure, keeping the body as a dead letter for ``dlq_ttl`` ms when positive."""
        keep = dead_letter_ttl(dlq_ttl)
        raw = self.serializer.forward(message.data) if keep else b""
        self.queue(call, str(message.queue))
        call.key(self.keys.body(message), self.keys.dead_letter(message))
        return call.arg(message.uuid, message.task_name, token_of(message), raw, keep)

    def release(self, call: Call, messages: Sequence[Message], delay_ms: int) -> Call:
        """Leased messages back to ready (or delayed by ``delay_ms``)."""
        call.arg(delay_ms, len(messages))
        for message in messages:
            self.queue(call, str(message.queue))
            call.arg(message.uuid, message.task_name, token_of(message))
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
            q = self.keys.queue(queue)
            call.key(q.leased, q.slots).arg(len(indexes))
            for index in indexes:
                message = messages[index]
                call.arg(member(message), message.uuid, token_of(message))
        return [index for _, indexes in groups for index in indexes]

    def poll(self, call: Call, queues: Sequence[str]) -> Call:
        """Whether any of ``queues`` has work now."""
        call.arg(len(queues))
        for queue in queues:
            q = self.keys.queue(queue)
            call.key(q.ready, q.delayed, q.leased)
        return call

    def repair(self, call: Call, queue: str, bodies: Sequence[tuple[str, Message]]) -> Call:
        """Bodies of ``queue`` (stored key, decoded message) to index again if no index holds
        them."""
        self.queue(call, queue).key(self.keys.queue_set_of(queue)).arg(queue, len(bodies))
        for key, message in bodies:
            call.key(key).arg(
                message.uuid, message.task_name, message.priority, message.ready_at - call.now_ms
            )
        return call
