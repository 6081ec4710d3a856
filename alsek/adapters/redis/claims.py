"""Reading claim replies: decode bodies, bury corrupt ones in the dead letter queue, refill.

A claim script returns ``{next_due or nil, queue index, member, body, ...}``. A body that does not
decode to the message its key names is logged with its key, moved (raw bytes, no TTL) to the dead
letter queue and reported in :attr:`Claim.corrupt`; the claim then takes another message in its
place, so a corrupt body never costs a consumer a slot, never crashes it, and is never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from alsek.adapters.codec import dead_letter_name, decode_message
from alsek.adapters.redis.calls import CallBuilder
from alsek.adapters.redis.keys import KeyLayout, split_member
from alsek.adapters.redis.scripts import Call
from alsek.domain.model.effects import Effects
from alsek.domain.model.errors import BackendError, CorruptMessageError
from alsek.domain.model.message import Message
from alsek.ports.queue import Claim

log = logging.getLogger("alsek.adapters.redis")

Runner = Callable[[str, Call], Any]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class ClaimReader:
    """Runs claim scripts and turns their replies into :class:`Claim` values.

    Args:
        keys: the backend's key layout.
        calls: the backend's call builder.
        run: runs a script by name with a :class:`Call` (errors already translated).
    """

    def __init__(self, keys: KeyLayout, calls: CallBuilder, run: Runner) -> None:
        self._keys = keys
        self._calls = calls
        self._run = run

    def claim(
        self,
        queues: Sequence[str],
        *,
        limit: int,
        lease_ms: int,
        now_ms: int,
        tasks: Sequence[str] = (),
    ) -> Claim:
        """Claim up to ``limit`` messages (of ``tasks`` only, when given) from ``queues`` at
        ``now_ms``."""
        unique = list(dict.fromkeys(queues))
        call = self._calls.claim(Call(now_ms), unique, limit, lease_ms, tasks)
        return self.finish(self._run("claim", call), unique, limit, lease_ms, now_ms, tasks)

    def ack_many_and_claim(
        self,
        acks: Sequence[tuple[Message, Effects]],
        queues: Sequence[str],
        *,
        limit: int,
        lease_ms: int,
        now_ms: int,
        tasks: Sequence[str] = (),
    ) -> Claim:
        """Ack every message of ``acks`` with its effects and claim, in one script call."""
        unique = list(dict.fromkeys(queues))
        call = self._calls.ack_groups(Call(now_ms), acks)
        self._calls.claim(call, unique, limit, lease_ms, tasks)
        return self.finish(self._run("ack_claim", call), unique, limit, lease_ms, now_ms, tasks)

    def finish(
        self,
        reply: list[Any],
        queues: list[str],
        limit: int,
        lease_ms: int,
        now_ms: int,
        tasks: Sequence[str] = (),
    ) -> Claim:
        """Turn the reply of a claim script (run at ``now_ms``) into a :class:`Claim`."""
        messages: list[Message] = []
        corrupt: list[str] = []
        next_due = self._read(reply, queues, now_ms, messages, corrupt)
        buried = len(corrupt)
        while buried and len(messages) < limit:  # refill the slots that corrupt bodies took
            before = len(corrupt)
            call = self._calls.claim(Call(now_ms), queues, limit - len(messages), lease_ms, tasks)
            # The refill sees the state after the burials: its next_due is the exact one.
            next_due = self._read(self._run("claim", call), queues, now_ms, messages, corrupt)
            buried = len(corrupt) - before
        return Claim(messages=messages, corrupt=corrupt, next_due_ms=next_due)

    def _read(
        self,
        reply: list[Any],
        queues: list[str],
        now_ms: int,
        messages: list[Message],
        corrupt: list[str],
    ) -> int | None:
        for position in range(1, len(reply), 3):
            queue, member, raw = (
                queues[reply[position]],
                _text(reply[position + 1]),
                reply[position + 2],
            )
            if raw is None:
                log.warning(
                    "Dropped index entry of %r: its body is gone", self._name(queue, member)
                )
                continue
            try:
                messages.append(self._decode(raw, queue, member))
            except CorruptMessageError as error:
                log.error(
                    "Moving corrupt message body %r (key %r) to the dead letter queue: %s",
                    error.name, self._keys.body_of_member(queue, member), error,
                )  # fmt: skip
                self._bury(queue, member, raw, now_ms)
                corrupt.append(error.name)
        return None if reply[0] is None else int(reply[0])

    def _name(self, queue: str, member: str) -> str:
        """The short name of the body of index ``member`` of ``queue`` (for logs and errors)."""
        return self._keys.short_name(self._keys.body_of_member(queue, member))

    def _decode(self, raw: bytes | str, queue: str, member: str) -> Message:
        try:
            message = decode_message(self._calls.serializer, raw, "")
        except CorruptMessageError as error:
            name = self._name(queue, member)
            raise CorruptMessageError(
                f"cannot decode {name!r}: {error.__cause__}", name=name
            ) from error
        uuid, _, task = member.rpartition("|")  # split_member, inlined: this is the hot path
        if message.uuid != uuid or message.task_name != task or message.queue != queue:
            name = self._name(queue, member)
            raise CorruptMessageError(
                f"{name!r} holds another message ({message.summary})", name=name
            )
        return message

    def _bury(self, queue: str, member: str, raw: bytes | str, now_ms: int) -> None:
        uuid, task = split_member(member)
        body = self._keys.body_of_member(queue, member)
        dead = self._keys.full_name(dead_letter_name(self._keys.short_name(body)))
        call = self._calls.queue(Call(now_ms), queue).key(body, dead).arg(uuid, task, raw)
        try:
            self._run("bury", call)
        except BackendError as error:  # the lease expires and a later claim buries it
            log.error("Could not move %r to the dead letter queue: %s", body, error)
