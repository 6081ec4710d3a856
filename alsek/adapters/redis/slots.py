"""Cluster slots of keys and queues, and effects split by slot.

On a Redis Cluster a script may only touch keys of one slot. A queue operation runs in its
queue's slot (every key of a queue carries the queue's hash tag); the effects riding along with
it that belong to another slot (a result, a status, a callback to another queue) are split off
and applied in a separate step, one ``effects`` script call per slot. Work over several queues is
grouped by queue (:func:`by_queue`) and claims of several queues are merged (:func:`merged`).
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.crc import key_slot

from alsek.adapters.redis.keys import KeyLayout
from alsek.domain.model.effects import Effects, Write
from alsek.domain.model.message import Message
from alsek.ports.queue import Claim


def slot_of(key: str) -> int:
    """The cluster slot of the stored ``key`` (its hash tag's, when it has one)."""
    return int(key_slot(key.encode("utf-8")))


class SlotSplitter:
    """Splits effects between a queue's slot and the others.

    Args:
        keys: the key layout of the backend.
    """

    def __init__(self, keys: KeyLayout) -> None:
        self._keys = keys
        self._queue_slots: dict[str, int] = {}

    def queue_slot(self, queue: str) -> int:
        """The slot of every key of ``queue``."""
        found = self._queue_slots.get(queue)
        if found is None:
            found = self._queue_slots[queue] = slot_of(self._keys.queue(queue).ready)
        return found

    def split(self, effects: Effects, home: int) -> tuple[Effects, list[Effects]]:
        """``effects`` as those of slot ``home`` and, per other slot, those of that slot.

        Publishes have no slot: they go with the last other slot's effects (after the writes
        they announce), or stay home when every write is.
        """
        if not effects:
            return effects, []
        local: tuple[list[Write], list[str], list[Message]] = ([], [], [])
        others: dict[int, tuple[list[Write], list[str], list[Message]]] = {}

        def group(slot: int) -> tuple[list[Write], list[str], list[Message]]:
            return local if slot == home else others.setdefault(slot, ([], [], []))

        full = self._keys.full_name
        for write in effects.writes:
            group(slot_of(full(write.name)))[0].append(write)
        for name in effects.deletes:
            group(slot_of(full(name)))[1].append(name)
        for message in effects.submits:
            group(self.queue_slot(str(message.queue)))[2].append(message)
        foreign = [
            Effects(writes=writes, deletes=deletes, submits=submits)
            for writes, deletes, submits in others.values()
        ]
        home_effects = Effects(writes=local[0], deletes=local[1], submits=local[2])
        if foreign:
            foreign[-1] += Effects(publishes=effects.publishes)
        else:
            home_effects += Effects(publishes=effects.publishes)
        return home_effects, foreign


def by_queue(messages: Sequence[Message]) -> dict[str, list[int]]:
    """Positions in ``messages`` by queue, in order."""
    groups: dict[str, list[int]] = {}
    for index, message in enumerate(messages):
        groups.setdefault(str(message.queue), []).append(index)
    return groups


def merged(claims: Sequence[Claim]) -> Claim:
    """One claim of several, in order; the earliest next due time."""
    dues = [c.next_due_ms for c in claims if c.next_due_ms is not None]
    return Claim(
        messages=[m for c in claims for m in c.messages],
        corrupt=[n for c in claims for n in c.corrupt],
        next_due_ms=min(dues) if dues else None,
        lost=[m for c in claims for m in c.lost],
        broken={q: e for c in claims for q, e in c.broken.items()},
    )


def owned(slot: bytes | str | None, token: str) -> bool:
    """Whether the holder of ``token`` may act on a message whose slot (``<ready score>|<task>
    |<owner>``) is ``slot``: ``owned`` of ``scripts/lib.lua``, read from Python."""
    if not token or slot is None:
        return True
    text = slot.decode("utf-8", "replace") if isinstance(slot, bytes) else slot
    parts = text.split("|", 2)
    return len(parts) < 3 or parts[2] == token
