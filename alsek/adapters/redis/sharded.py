"""Queue operations on a Redis Cluster, where a script touches the keys of one slot only.

Each operation runs in its queue's slot, as on one server. What differs:

* Effects of other slots (results, statuses, callbacks to other queues) are a separate step,
  one ``effects`` call per slot, pipelined per node. For an ack they go first, once a read of
  the message's slot shows this consumer still holds it (a stale holder writes no result): a
  crash in between runs the message again (at least once), it never loses a result. For a submit, a
  retry and a failure they follow, and only when the operation happened (nothing is written
  for a refused one); a crash in between loses a status update, never a message.
* A claim over several queues claims queue by queue, in the order given, until ``limit``.
* Releases, renewals and polls of several queues are one call per queue, pipelined per node.
* A consumer of one queue waits as on one server (BLPOP with the claim behind it, on the
  queue's node); a consumer of several blocks on its first queue for at most
  :data:`~alsek.adapters.redis.sharded_waits.WAIT_SLICE_S` at a time and claims from all of
  them in between.

Everything is encoded before anything is sent, as on one server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from alsek.adapters.codec import check_claim
from alsek.adapters.redis.calls import CallBuilder, token_of
from alsek.adapters.redis.claims import ClaimReader
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.scripts import Call
from alsek.adapters.redis.session import RedisSession
from alsek.adapters.redis.sharded_waits import ShardedWaits
from alsek.adapters.redis.slots import SlotSplitter, by_queue, merged, owned
from alsek.adapters.redis.upkeep import RedisUpkeep
from alsek.domain.model.effects import Effects
from alsek.domain.model.message import Message
from alsek.ports.queue import Claim
from alsek.ports.serializer import Serializer

log = logging.getLogger("alsek.adapters.redis")


class ShardedQueue(ShardedWaits):
    """The cluster side of :class:`~alsek.adapters.redis.queue.RedisMessageQueue`.

    Args:
        session: the connection to the cluster.
        keys: the key layout (per-queue name sets).
        serializer: encodes bodies and effect values.
        new_call: a :class:`Call` for now (the queue's clock, and whether Redis' clock rules).
        max_message_bytes: the longest encoded body a submission may have (None: no limit).
    """

    def __init__(
        self,
        session: RedisSession,
        keys: KeyLayout,
        serializer: Serializer,
        new_call: Callable[[], Call],
        max_message_bytes: int | None = None,
    ) -> None:
        self._session = session
        self._keys = keys
        self._call = new_call
        self.calls = CallBuilder(keys, serializer, max_message_bytes)
        self.reader = ClaimReader(keys, self.calls, session.run, new_call)
        self.upkeep = RedisUpkeep(session, keys, self.calls, new_call)
        self._slots = SlotSplitter(keys)

    # -- effects -----------------------------------------------------------------------------

    def split(self, message: Message, effects: Effects) -> tuple[Effects, list[Call]]:
        """The effects of ``message``'s slot, and calls applying the others (encoded)."""
        home, foreign = self._slots.split(effects, self._slots.queue_slot(str(message.queue)))
        return home, [self.calls.effects(self._call(), part) for part in foreign]

    def _apply(self, calls: list[Call]) -> None:
        if calls:
            self._session.run_many("effects", calls)

    def apply(self, effects: Effects) -> None:
        """Apply ``effects``: one call per slot, pipelined per node."""
        if not effects:
            return
        home, foreign = self._slots.split(effects, -1)  # -1: no slot is home
        parts = [part for part in (home, *foreign) if part]
        self._apply([self.calls.effects(self._call(), part) for part in parts])

    # -- one message -------------------------------------------------------------------------

    def submit(self, message: Message, effects: Effects) -> bool:
        """Submit ``message``; its effects of other slots follow if it was stored."""
        home, foreign = self.split(message, effects)
        call = self.calls.effects(self.calls.submit(self._call(), message), home)
        if not self._session.run_submit("submit", call):
            return False
        self._apply(foreign)
        return True

    def ack(self, message: Message, effects: Effects) -> Any:
        """Apply the effects of other slots (if this consumer still holds the message), then
        ack with the rest; the ack script's reply."""
        home, foreign = self.split(message, effects)
        call = self.calls.effects(self.calls.message(self._call(), message), home)
        if foreign and self._held([message])[0]:
            self._apply(foreign)
        return self._session.run("ack", call)

    def _held(self, messages: Sequence[Message]) -> list[bool]:
        """Whether each message is still held by its own token (one read per message,
        pipelined per node), so that a stale holder writes no result: the ack script checks
        the same again, atomically, for the writes of the queue's slot."""
        with self._session.client.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.hget(self._keys.queue(str(message.queue)).slots, message.uuid)
            slots = pipe.execute()
        return [owned(slot, token_of(m)) for slot, m in zip(slots, messages, strict=True)]

    def retry(self, message: Message, effects: Effects) -> Any:
        """Retry; the effects of other slots follow if it was stored and held. The reply."""
        home, foreign = self.split(message, effects)
        call = self.calls.effects(self.calls.retry(self._call(), message), home)
        reply = self._session.run("retry", call)
        if reply == 1:
            self._apply(foreign)
        return reply

    def fail(self, message: Message, dlq_ttl: int | None, effects: Effects) -> Any:
        """Fail; then the effects of other slots, unless another consumer holds the lease."""
        home, foreign = self.split(message, effects)
        call = self.calls.effects(self.calls.fail(self._call(), message, dlq_ttl), home)
        reply = self._session.run("fail", call)
        if reply != -1:
            self._apply(foreign)
        return reply

    # -- batches -----------------------------------------------------------------------------

    def submit_many(self, submissions: Sequence[tuple[Message, Effects]], batch: int) -> list[bool]:
        """One ``submit_many`` call per queue (and per ``batch`` messages), pipelined per node;
        then the effects of other slots of the messages stored."""
        positions = by_queue([message for message, _ in submissions])
        chunks = [
            indexes[start : start + batch]
            for indexes in positions.values()
            for start in range(0, len(indexes), batch)
        ]
        split = [self.split(message, effects) for message, effects in submissions]
        calls = [
            self.calls.submit_many(self._call(), [(submissions[i][0], split[i][0]) for i in chunk])
            for chunk in chunks
        ]
        if self._session.durable:  # each with its WAIT
            replies = [self._session.run_submit("submit_many", call) for call in calls]
        else:
            replies = self._session.run_many("submit_many", calls)
        stored = [False] * len(submissions)
        for chunk, reply in zip(chunks, replies, strict=True):
            for index, flag in zip(chunk, reply, strict=True):
                stored[index] = bool(flag)
        self._apply([call for i, (_, calls) in enumerate(split) if stored[i] for call in calls])
        return stored

    def release(self, messages: Sequence[Message], delay_ms: int) -> list[Message]:
        """One release call per queue, pipelined per node; the messages not released."""
        groups = list(by_queue(messages).values())
        calls = [
            self.calls.release(self._call(), [messages[i] for i in group], delay_ms)
            for group in groups
        ]
        replies = self._session.run_many("release", calls)
        return [
            messages[group[p]] for group, kept in zip(groups, replies, strict=True) for p in kept
        ]

    def extend(self, messages: Sequence[Message], lease_ms: int) -> list[Message]:
        """One renewal call per queue, pipelined per node; the messages not leased any more."""
        groups = list(by_queue(messages).values())
        calls, orders = [], []
        for group in groups:
            call = self._call()
            orders.append(self.calls.extend(call, [messages[i] for i in group], lease_ms))
            calls.append(call)
        lost: list[int] = []
        for group, order, reply in zip(
            groups, orders, self._session.run_many("extend", calls), strict=True
        ):
            positions, errors = reply
            if errors:
                log.error("Could not renew the leases of queue %r: %s",
                          messages[group[0]].queue, errors[1])  # fmt: skip
            lost += [group[order[p]] for p in positions]
        return [messages[i] for i in sorted(lost)]

    # -- claims ------------------------------------------------------------------------------

    def claim(
        self,
        queues: Sequence[str],
        limit: int,
        lease_ms: int,
        token: str,
        tasks: Sequence[str] = (),
    ) -> Claim:
        """Claim queue by queue, in order, until ``limit`` messages (of ``tasks`` only, when
        given) are leased."""
        check_claim(limit, lease_ms)
        claims: list[Claim] = []
        got = 0
        for queue in dict.fromkeys(queues):
            if limit and got >= limit:
                break
            claim = self.reader.claim(
                [queue], limit=limit - got, lease_ms=lease_ms, token=token, tasks=tasks
            )
            claims.append(claim)
            got += len(claim.messages)
        return merged(claims)

    def ack_many_and_claim(
        self,
        acks: Sequence[tuple[Message, Effects]],
        queues: Sequence[str],
        limit: int,
        lease_ms: int,
        token: str,
        tasks: Sequence[str] = (),
    ) -> Claim:
        """Effects of other slots first, then one ack call per queue (the first queue's with
        the claim of that queue behind it), pipelined per node; then the other queues' claims
        while ``limit`` is not reached."""
        check_claim(limit, lease_ms)
        unique = list(dict.fromkeys(queues))
        foreign: list[tuple[Message, list[Call]]] = []
        groups: dict[str, list[tuple[Message, Effects]]] = {}
        for message, effects in acks:
            home, calls = self.split(message, effects)
            if calls:
                foreign.append((message, calls))
            groups.setdefault(str(message.queue), []).append((message, home))
        first = unique[0] if unique else None
        order = [q for q in groups if q != first] + ([first] if first in groups else [])
        calls = []
        for queue in order:
            call = self._call()
            self.calls.ack_groups(call, groups[queue])  # one group: the order is the given one
            self.calls.claim(call, [queue] if queue == first else [], limit, lease_ms, token, tasks)
            calls.append(call)
        if foreign:
            held = self._held([message for message, _ in foreign])
            self._apply(
                [c for (_, calls_), ok in zip(foreign, held, strict=True) if ok for c in calls_]
            )
        replies = self._session.run_many("ack_claim", calls) if calls else []
        claims = []
        for queue, call, reply in zip(order, calls, replies, strict=True):
            acked = [message for message, _ in groups[queue]]
            claimed = [queue] if queue == first else []
            claims.append(
                self.reader.finish(reply, call, claimed, limit, lease_ms, token, acked, tasks=tasks)
            )
        got = sum(len(c.messages) for c in claims)
        rest = unique[1:] if first in groups else unique
        if rest and (got < limit or not limit):
            claims.append(self.claim(rest, limit - got, lease_ms, token, tasks))
        return merged(claims)

    def queues(self) -> list[str]:
        """Every queue named in its own set (a SCAN of every primary)."""
        head = f"{self._keys.namespace}:idx:{{"
        names = {
            key[len(head) : key.index("}", len(head))]
            for key in self._session.scan_keys(self._keys.queue_sets_pattern())
        }
        return sorted(names)
