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
from alsek.adapters.redis.steps import Script, Step, Steps, drive
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


class ClaimSteps:
    """Claim operations as steps (see :mod:`alsek.adapters.redis.steps`): build the claim
    call, decode the reply, bury corrupt bodies and refill their slots.

    Args:
        keys: the backend's key layout.
        calls: the backend's call builder.
        new_call: a :class:`Call` for now (the queue's clock, and whether Redis' clock rules).
    """

    def __init__(self, keys: KeyLayout, calls: CallBuilder, new_call: Callable[[], Call]) -> None:
        self._keys = keys
        self._calls = calls
        self._new_call = new_call

    def claim_steps(
        self, queues: Sequence[str], limit: int, lease_ms: int, token: str, tasks: Sequence[str]
    ) -> Steps[Claim]:
        """Claim up to ``limit`` messages (of ``tasks`` only, when given) from ``queues`` for the
        holder of ``token``."""
        unique = list(dict.fromkeys(queues))
        call = self._calls.claim(self._new_call(), unique, limit, lease_ms, token, tasks)
        reply = yield Script("claim", call)
        return (
            yield from self.finish_steps(
                reply, call, unique, limit, lease_ms, token, (), None, tasks
            )
        )

    def ack_claim_steps(
        self,
        acks: Sequence[tuple[Message, Effects]],
        queues: Sequence[str],
        limit: int,
        lease_ms: int,
        token: str,
        tasks: Sequence[str],
    ) -> Steps[Claim]:
        """Ack every message of ``acks`` with its effects and claim, in one script call."""
        unique = list(dict.fromkeys(queues))
        call = self._new_call()
        order = self._calls.ack_groups(call, acks)
        self._calls.claim(call, unique, limit, lease_ms, token, tasks)
        reply = yield Script("ack_claim", call)
        acked = [acks[index][0] for index in order]
        return (
            yield from self.finish_steps(
                reply, call, unique, limit, lease_ms, token, acked, None, tasks
            )
        )

    def finish_steps(
        self,
        reply: list[Any],
        call: Call,
        queues: list[str],
        limit: int,
        lease_ms: int,
        token: str,
        acked: Sequence[Message] = (),
        now_ms: int | None = None,
        tasks: Sequence[str] = (),
    ) -> Steps[Claim]:
        """Turn the reply of a claim script (sent as ``call``) into a :class:`Claim`; its next
        due time counts from ``now_ms`` (default: the call's time)."""
        messages: list[Message] = []
        corrupt: list[tuple[str, str, bytes | str]] = []
        lost = [acked[position] for position in reply[1]]
        self._log_failed_acks(reply[2], acked)
        broken = {queues[reply[3][i]]: _text(reply[3][i + 1]) for i in range(0, len(reply[3]), 2)}
        now = call.now_ms if now_ms is None else now_ms
        next_due = self._read(reply, queues, now, token, messages, corrupt)
        names: list[str] = []
        while corrupt:
            for queue, member, raw in corrupt:
                names.append(self._name(queue, member))
                yield from self._bury(queue, member, raw)
            corrupt = []
            if len(messages) >= limit:
                break
            # Refill the slots that corrupt bodies took; the refill sees the state after the
            # burials: its next_due is the exact one.
            again = self._calls.claim(
                self._new_call(), queues, limit - len(messages), lease_ms, token, tasks
            )
            refill = yield Script("claim", again)
            next_due = self._read(refill, queues, again.now_ms, token, messages, corrupt)
        return Claim(
            messages=messages, corrupt=names, next_due_ms=next_due, lost=lost, broken=broken
        )

    def _read(
        self,
        reply: list[Any],
        queues: list[str],
        now_ms: int,
        token: str,
        messages: list[Message],
        corrupt: list[tuple[str, str, bytes | str]],
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
                corrupt.append((queue, member, raw))
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

    def _bury(self, queue: str, member: str, raw: bytes | str) -> Steps[None]:
        uuid, task = split_member(member)
        body = self._keys.body_of_member(queue, member)
        yield from bury_steps(
            self._keys, self._calls, self._new_call(), queue, (uuid, task, body), raw
        )


class ClaimReader(ClaimSteps):
    """:class:`ClaimSteps` run at once on a synchronous runner.

    Args:
        keys: the backend's key layout.
        calls: the backend's call builder.
        run: runs a script by name with a :class:`Call` (errors already translated).
        new_call: a :class:`Call` for now (the queue's clock, and whether Redis' clock rules).
    """

    def __init__(
        self, keys: KeyLayout, calls: CallBuilder, run: Runner, new_call: Callable[[], Call]
    ) -> None:
        super().__init__(keys, calls, new_call)
        self._run = run

    def perform(self, step: Step) -> Any:
        """Perform a :class:`Script` step with the runner."""
        assert isinstance(step, Script)
        return self._run(step.name, step.call)

    def claim(
        self,
        queues: Sequence[str],
        *,
        limit: int,
        lease_ms: int,
        token: str,
        tasks: Sequence[str] = (),
    ) -> Claim:
        """See :meth:`ClaimSteps.claim_steps`."""
        return drive(self.claim_steps(queues, limit, lease_ms, token, tasks), self.perform)

    def finish(self, reply: list[Any], call: Call, queues: list[str], limit: int, lease_ms: int,
               token: str, acked: Sequence[Message] = (), now_ms: int | None = None,
               tasks: Sequence[str] = ()) -> Claim:  # fmt: skip
        """See :meth:`ClaimSteps.finish_steps`."""
        steps = self.finish_steps(reply, call, queues, limit, lease_ms, token, acked, now_ms, tasks)
        return drive(steps, self.perform)


def bury_steps(
    keys: KeyLayout,
    calls: CallBuilder,
    call: Call,
    queue: str,
    found: tuple[str, str, str],
    raw: bytes | str,
) -> Steps[None]:
    """Move the undecodable body ``raw`` (uuid, task and key in ``found``) of ``queue`` to the
    dead letter queue, if it still holds those bytes. Never raises: when Redis cannot do it,
    the error is logged (a later claim or repair buries it)."""
    uuid, task, body = found
    dead = keys.full_name(dead_letter_name(keys.short_name(body)))
    calls.queue(call, queue).key(body, dead).arg(uuid, task, raw)
    try:
        yield Script("bury", call)
    except BackendError as error:
        log.error("Could not move %r to the dead letter queue: %s", body, error)


def bury(
    keys: KeyLayout,
    calls: CallBuilder,
    run: Runner,
    call: Call,
    queue: str,
    found: tuple[str, str, str],
    raw: bytes | str,
) -> None:
    """:func:`bury_steps` on the synchronous runner ``run``."""
    drive(
        bury_steps(keys, calls, call, queue, found, raw),
        ClaimReader(keys, calls, run, lambda: call).perform,
    )
