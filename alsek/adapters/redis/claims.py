"""Reading claim replies: decode bodies, bury corrupt ones in the dead letter queue, refill.

A claim script returns ``{next due (ms from now) or nil, lost acks, failed acks, broken queues,
queue index, member, body, ...}``. A body that does not decode to the message its key names is
logged with its key, moved (raw bytes, no TTL) to the dead letter queue and reported in
:attr:`Claim.corrupt`; the claim then takes another message in its place, so a corrupt body
never costs a consumer a slot, never crashes it, and is never dropped. Index entries whose body
is gone are dropped by the script and logged here once per claim.
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
#: Names of dropped index entries quoted in the one log line of a claim.
_QUOTED = 3


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class ClaimReader:
    """Runs claim scripts and turns their replies into :class:`Claim` values.

    Args:
        keys: the backend's key layout.
        calls: the backend's call builder.
        run: runs a script by name with a :class:`Call` (errors already translated).
        new_call: a :class:`Call` for now (the queue's clock, and whether Redis' clock rules).
    """

    def __init__(
        self, keys: KeyLayout, calls: CallBuilder, run: Runner, new_call: Callable[[], Call]
    ) -> None:
        self._keys = keys
        self._calls = calls
        self._run = run
        self._new_call = new_call

    def claim(self, queues: Sequence[str], *, limit: int, lease_ms: int, token: str) -> Claim:
        """Claim up to ``limit`` messages from ``queues`` for the holder of ``token``."""
        unique = list(dict.fromkeys(queues))
        call = self._calls.claim(self._new_call(), unique, limit, lease_ms, token)
        return self.finish(self._run("claim", call), call, unique, limit, lease_ms, token)

    def ack_many_and_claim(
        self,
        acks: Sequence[tuple[Message, Effects]],
        queues: Sequence[str],
        *,
        limit: int,
        lease_ms: int,
        token: str,
    ) -> Claim:
        """Ack every message of ``acks`` with its effects and claim, in one script call."""
        unique = list(dict.fromkeys(queues))
        call = self._new_call()
        order = self._calls.ack_groups(call, acks)
        self._calls.claim(call, unique, limit, lease_ms, token)
        reply = self._run("ack_claim", call)
        acked = [acks[index][0] for index in order]
        return self.finish(reply, call, unique, limit, lease_ms, token, acked)

    def finish(
        self,
        reply: list[Any],
        call: Call,
        queues: list[str],
        limit: int,
        lease_ms: int,
        token: str,
        acked: Sequence[Message] = (),
        now_ms: int | None = None,
    ) -> Claim:
        """Turn the reply of a claim script (sent as ``call``) into a :class:`Claim`; its next
        due time counts from ``now_ms`` (default: the call's time)."""
        messages: list[Message] = []
        corrupt: list[str] = []
        lost = [acked[position] for position in reply[1]]
        self._log_failed_acks(reply[2], acked)
        broken = {queues[reply[3][i]]: _text(reply[3][i + 1]) for i in range(0, len(reply[3]), 2)}
        now = call.now_ms if now_ms is None else now_ms
        next_due = self._read(reply, queues, now, token, messages, corrupt)
        buried = len(corrupt)
        while buried and len(messages) < limit:  # refill the slots that corrupt bodies took
            before = len(corrupt)
            again = self._calls.claim(
                self._new_call(), queues, limit - len(messages), lease_ms, token
            )
            # The refill sees the state after the burials: its next_due is the exact one.
            next_due = self._read(self._run("claim", again), queues, again.now_ms, token,
                                  messages, corrupt)  # fmt: skip
            buried = len(corrupt) - before
        return Claim(
            messages=messages, corrupt=corrupt, next_due_ms=next_due, lost=lost, broken=broken
        )

    def _read(
        self,
        reply: list[Any],
        queues: list[str],
        now_ms: int,
        token: str,
        messages: list[Message],
        corrupt: list[str],
    ) -> int | None:
        gone: list[str] = []
        for position in range(4, len(reply), 3):
            queue, member, raw = (
                queues[reply[position]],
                _text(reply[position + 1]),
                reply[position + 2],
            )
            if raw is None:
                gone.append(self._name(queue, member))
                continue
            try:
                message = self._decode(raw, queue, member)
            except CorruptMessageError as error:
                log.error(
                    "Moving corrupt message body %r (key %r) to the dead letter queue: %s",
                    error.name, self._keys.body_of_member(queue, member), error,
                )  # fmt: skip
                self._bury(queue, member, raw)
                corrupt.append(error.name)
                continue
            message.lease_token = token
            messages.append(message)
        if gone:
            log.warning("Dropped %s index entr%s whose body is gone: %s", len(gone),
                        "y" if len(gone) == 1 else "ies",
                        ", ".join(repr(name) for name in gone[:_QUOTED])
                        + (", ..." if len(gone) > _QUOTED else ""))  # fmt: skip
        return None if reply[0] is None else now_ms + int(reply[0])

    def _log_failed_acks(self, failed: list[Any], acked: Sequence[Message]) -> None:
        for i in range(0, len(failed), 2):
            log.error("Could not acknowledge %s (%s); it runs again when its lease lapses.",
                      acked[failed[i]].summary, _text(failed[i + 1]))  # fmt: skip

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

    def _bury(self, queue: str, member: str, raw: bytes | str) -> None:
        uuid, task = split_member(member)
        body = self._keys.body_of_member(queue, member)
        bury(self._keys, self._calls, self._run, self._new_call(), queue, (uuid, task, body), raw)


def bury(
    keys: KeyLayout,
    calls: CallBuilder,
    run: Runner,
    call: Call,
    queue: str,
    found: tuple[str, str, str],
    raw: bytes | str,
) -> None:
    """Move the undecodable body ``raw`` (uuid, task and key in ``found``) of ``queue`` to the
    dead letter queue, if it still holds those bytes. Never raises: when Redis cannot do it,
    the error is logged (a later claim or repair buries it)."""
    uuid, task, body = found
    dead = keys.full_name(dead_letter_name(keys.short_name(body)))
    calls.queue(call, queue).key(body, dead).arg(uuid, task, raw)
    try:
        run("bury", call)
    except BackendError as error:
        log.error("Could not move %r to the dead letter queue: %s", body, error)
