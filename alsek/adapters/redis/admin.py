"""Queue administration on Redis (see :mod:`alsek.ports.admin`): counts, requeue and purge are
one Lua script call each (``stats``, ``requeue``, ``purge``: one atomic step, in the queue's
slot on a Cluster); dead letters are read by SCAN pages, never a whole queue at once.

A mixin of :class:`~alsek.adapters.redis.queue.RedisMessageQueue`, which provides the
session, the key layout, the call builder and the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from alsek.adapters.codec import dead_letter_prefix, decode_message
from alsek.adapters.redis.calls import CallBuilder
from alsek.adapters.redis.client import translated
from alsek.adapters.redis.keys import KeyLayout, escape_glob
from alsek.adapters.redis.scripts import Call
from alsek.adapters.redis.session import SCAN_COUNT, RedisSession
from alsek.adapters.redis.sharded import ShardedQueue
from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.errors import CorruptMessageError, MessageAlreadyExistsError
from alsek.domain.model.inspection import HEAD_BANDS, Located, QueueCounts, oldest_ready_age_ms
from alsek.domain.model.message import Message
from alsek.domain.model.naming import validate_queue_name
from alsek.ports.admin import PURGE_BATCH, QueueAdmin
from alsek.ports.serializer import Serializer

log = logging.getLogger("alsek.adapters.redis")

_STATES = ("leased", "ready", "delayed")


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class RedisQueueAdmin(QueueAdmin):
    """Queue administration over the attributes a :class:`RedisMessageQueue` sets."""

    _session: RedisSession
    _keys: KeyLayout
    _calls: CallBuilder
    _call: Callable[[], Call]
    _sharded: ShardedQueue

    @property
    def _serializer(self) -> Serializer:
        return self._calls.serializer

    def queue_counts(self, queue: str) -> QueueCounts:
        """Counts of ``queue`` and the age of its oldest ready message: one script call."""
        q = self._keys.queue(validate_queue_name(queue))
        call = self._call().key(q.ready, q.delayed, q.leased).arg(q.bodies, HEAD_BANDS)
        reply = self._session.run("stats", call)
        now, ready, due, delayed, leased = (int(value) for value in reply[:5])
        first_due, heads = reply[5], reply[6:]
        ready_ats = [int(float(first_due))] if first_due not in (b"", "") else []
        for i in range(0, len(heads), 2):
            ready_at = self._ready_at(_text(heads[i]), heads[i + 1])
            if ready_at is not None:
                ready_ats.append(ready_at)
        return QueueCounts(
            queue=queue, ready=ready + due, delayed=delayed, leased=leased,
            oldest_ready_age_ms=oldest_ready_age_ms(now, ready_ats),
        )  # fmt: skip

    def _ready_at(self, member: str, raw: Any) -> int | None:
        if not raw:
            return None
        try:
            return decode_message(self._serializer, raw, member).ready_at
        except CorruptMessageError:
            return None

    def count_dead_letters(self, queue: str) -> int:
        """How many dead letters ``queue`` has: SCAN pages, counted, not kept."""
        pattern = self._keys.pattern(dead_letter_prefix(validate_queue_name(queue)))
        with translated():
            return sum(1 for _ in self._session.client.scan_iter(match=pattern, count=SCAN_COUNT))

    def dead_letter_pages(self, queue: str | None = None) -> Iterator[list[Message]]:
        """The dead letters (of ``queue``, or of every queue), a SCAN page at a time;
        unreadable ones are logged and skipped."""
        pattern = self._keys.pattern(dead_letter_prefix(queue))
        page: list[str] = []
        with translated():
            keys = self._session.client.scan_iter(match=pattern, count=SCAN_COUNT)
            for raw_key in keys:
                page.append(_text(raw_key))
                if len(page) >= SCAN_COUNT:
                    yield self._decode_page(page)
                    page = []
        if page:
            yield self._decode_page(page)

    def _decode_page(self, keys: list[str]) -> list[Message]:
        letters = []
        for key, raw in zip(keys, self._session.mget(keys), strict=True):
            if raw is None:  # expired since the scan
                continue
            try:
                letters.append(decode_message(self._serializer, raw, self._keys.short_name(key)))
            except CorruptMessageError as error:
                log.warning("Skipping unreadable dead letter: %s", error)
        return letters

    def find(self, uuid: str) -> Located | None:
        """The message stored under ``uuid`` and its state: one pipelined HGET per queue, then
        one read of its queue, else a SCAN for its dead letter."""
        queues = self.queues()  # type: ignore[attr-defined]
        with translated():
            pipe = self._session.client.pipeline(transaction=False)
            for queue in queues:
                pipe.hget(self._keys.queue(queue).slots, uuid)
            slots = pipe.execute()
        for queue, slot in zip(queues, slots, strict=True):
            if slot is not None:
                found = self._in_queue(queue, uuid, _text(slot).split("|")[1])
                if found is not None:
                    return found
        return self._dead(uuid)

    def _in_queue(self, queue: str, uuid: str, task: str) -> Located | None:
        q = self._keys.queue(queue)
        member = f"{uuid}|{task}"
        with translated():
            pipe = self._session.client.pipeline(transaction=False)
            for state in _STATES:
                pipe.zscore(getattr(q, state), member)
            pipe.get(f"{q.bodies}{task}:messages:{uuid}")
            *scores, raw = pipe.execute()
        states = [state for state, score in zip(_STATES, scores, strict=True) if score is not None]
        if raw is None or not states:
            return None
        name = self._keys.short_name(f"{q.bodies}{task}:messages:{uuid}")
        return Located(decode_message(self._serializer, raw, name), states[0])

    def _dead(self, uuid: str) -> Located | None:
        pattern = self._keys.pattern(dead_letter_prefix(None)) + f":messages:{escape_glob(uuid)}"
        with translated():
            for key in self._session.client.scan_iter(match=pattern, count=SCAN_COUNT):
                raw = self._session.client.get(key)
                if raw is not None:
                    name = self._keys.short_name(key)
                    return Located(decode_message(self._serializer, raw, name), "dead")
        return None

    def requeue_dead_letter(
        self, dead: Message, fresh: Message, *, effects: Effects = NO_EFFECTS
    ) -> bool:
        """Submit ``fresh`` and drop the dead letter ``dead``, if it is there: one script call
        (on a Cluster, effects of other slots follow it); see the port."""
        call = self._call().key(self._keys.dead_letter(dead))
        if self._session.cluster:  # per-queue name sets; effects of other slots follow
            home, foreign = self._sharded.split(fresh, effects)
            call = self._sharded.calls.effects(self._sharded.calls.submit(call, fresh), home)
        else:
            foreign = []
            call = self._calls.effects(self._calls.submit(call, fresh), effects)
        reply = int(self._session.run("requeue", call))
        if reply == 0:
            raise MessageAlreadyExistsError(f"{fresh.summary} already exists")
        if reply == 1 and foreign:
            self._session.run_many("effects", foreign)
        return reply == 1

    def delete_dead_letters(self, messages: Sequence[Message]) -> int:
        """Drop ``messages`` from the dead letter queue (pipelined DELs per page)."""
        deleted = 0
        for start in range(0, len(messages), SCAN_COUNT):
            with translated():
                pipe = self._session.client.pipeline(transaction=False)
                for message in messages[start : start + SCAN_COUNT]:
                    pipe.delete(self._keys.dead_letter(message))
                deleted += sum(int(n) for n in pipe.execute())
        return deleted

    def purge_step(self, queue: str, *, limit: int = PURGE_BATCH) -> int:
        """Remove up to ``limit`` waiting messages of ``queue``: one script call."""
        validate_queue_name(queue)
        call = self._calls.queue(self._call(), queue).arg(max(1, min(limit, PURGE_BATCH)))
        return int(self._session.run("purge", call))
