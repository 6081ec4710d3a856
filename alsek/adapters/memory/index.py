"""The index of one queue: which messages are ready, delayed or leased, and in what order.

Message bodies are not kept here (they live in the key-value table); the index holds each
message's storage name, priority and submission sequence, keyed by uuid.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection

from attrs import define

from alsek.domain.model.priority import ready_score


class LazyHeap:
    """A min-heap of ``(key, uuid)`` with O(log n) push and O(1) amortised removal.

    Removal only forgets the uuid in a dict; stale heap items are skipped when they surface and
    the heap is rebuilt once stale items outnumber live ones.
    """

    def __init__(self) -> None:
        self._keys: dict[str, int] = {}
        self._heap: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, uuid: str) -> bool:
        return uuid in self._keys

    def push(self, uuid: str, key: int) -> None:
        """Add ``uuid`` under ``key`` (replacing its previous key)."""
        self._keys[uuid] = key
        heapq.heappush(self._heap, (key, uuid))
        if len(self._heap) > 2 * len(self._keys) + 64:
            self._heap = [(k, u) for u, k in self._keys.items()]
            heapq.heapify(self._heap)

    def remove(self, uuid: str) -> bool:
        """Forget ``uuid``; return whether it was present."""
        return self._keys.pop(uuid, None) is not None

    def peek(self) -> tuple[int, str] | None:
        """The smallest ``(key, uuid)``, or None when empty."""
        while self._heap:
            key, uuid = self._heap[0]
            if self._keys.get(uuid) == key:
                return key, uuid
            heapq.heappop(self._heap)
        return None

    def items(self) -> list[tuple[str, int]]:
        """Every ``(uuid, key)`` held, in no order."""
        return list(self._keys.items())

    def pop_due(self, now_ms: int) -> str | None:
        """Remove and return the uuid with the smallest key if that key is ``<= now_ms``."""
        top = self.peek()
        if top is None or top[0] > now_ms:
            return None
        self._keys.pop(top[1])
        return top[1]


@define
class Slot:
    """What the index knows about one message.

    Attributes:
        name: the full storage name of the message body.
        priority: the message's priority (lower first).
        sequence: its per-queue submission number (FIFO among equal priorities).
        task: the name of the message's task.
        owner: the token of the claim that leased it last (None: never leased).
    """

    name: str
    priority: int
    sequence: int
    task: str = ""
    owner: str | None = None

    def owned_by(self, token: str | None) -> bool:
        """Whether the holder of ``token`` may act on this message's lease (no token: an
        administrator, who may)."""
        return not token or self.owner is None or self.owner == token

    @property
    def score(self) -> int:
        """The message's place in the ready set."""
        return ready_score(self.priority, self.sequence)


class QueueIndex:
    """The ready, delayed and leased sets of one queue."""

    def __init__(self) -> None:
        self.slots: dict[str, Slot] = {}
        self._ready = LazyHeap()
        self._delayed = LazyHeap()
        self._leased = LazyHeap()
        self._sequence = 0

    def add(
        self, uuid: str, *, name: str, priority: int, ready_at: int, now_ms: int, task: str = ""
    ) -> None:
        """Index a message as ready (``ready_at <= now_ms``) or delayed, with a new sequence."""
        self.discard(uuid)
        self._sequence += 1
        self.slots[uuid] = Slot(name=name, priority=priority, sequence=self._sequence, task=task)
        if ready_at <= now_ms:
            self._ready.push(uuid, self.slots[uuid].score)
        else:
            self._delayed.push(uuid, ready_at)

    def discard(self, uuid: str) -> bool:
        """Drop ``uuid`` from every set; return whether it was indexed."""
        for heap in (self._ready, self._delayed, self._leased):
            heap.remove(uuid)
        return self.slots.pop(uuid, None) is not None

    def is_leased(self, uuid: str) -> bool:
        """Whether ``uuid`` is leased (possibly expired but not yet returned by a claim)."""
        return uuid in self._leased

    def promote(self, now_ms: int) -> None:
        """Return expired leases and due delayed messages to the ready set."""
        for heap in (self._leased, self._delayed):
            while (uuid := heap.pop_due(now_ms)) is not None:
                self._ready.push(uuid, self.slots[uuid].score)

    def pop_ready(self, tasks: Collection[str] | None = None) -> str | None:
        """Take the best ready message (of ``tasks`` only, when given) out of the ready set (the
        caller leases or drops it)."""
        if tasks:
            return self._pop_ready_of(tasks)
        top = self._ready.peek()
        if top is None:
            return None
        self._ready.remove(top[1])
        return top[1]

    def _pop_ready_of(self, tasks: Collection[str]) -> str | None:
        ready = [uuid for uuid in self.slots if uuid in self._ready]
        mine = [uuid for uuid in ready if self.slots[uuid].task in tasks]
        if not mine:
            return None
        best = min(mine, key=lambda uuid: self.slots[uuid].score)
        self._ready.remove(best)
        return best

    def lease(self, uuid: str, expires_at: int, owner: str) -> None:
        """Mark ``uuid`` leased until ``expires_at`` by the holder of token ``owner``."""
        self._ready.remove(uuid)
        self._delayed.remove(uuid)
        self._leased.push(uuid, expires_at)
        self.slots[uuid].owner = owner

    def held_by_other(self, uuid: str, token: str | None) -> bool:
        """Whether ``uuid`` is leased by a holder other than that of ``token``."""
        return uuid in self._leased and not self.slots[uuid].owned_by(token)

    def renew(self, uuid: str, expires_at: int, token: str | None) -> bool:
        """Move a lease's expiry to ``expires_at``; return False if ``uuid`` is not leased by
        the holder of ``token``."""
        if uuid not in self._leased or not self.slots[uuid].owned_by(token):
            return False
        self._leased.push(uuid, expires_at)
        return True

    def release(self, uuid: str, token: str | None, ready_at: int | None = None) -> bool:
        """Make a message leased by the holder of ``token`` ready again at its original place
        (at ``ready_at`` when given); False if it is not leased by them."""
        if uuid not in self._leased or not self.slots[uuid].owned_by(token):
            return False
        self._leased.remove(uuid)
        if ready_at is None:
            self._ready.push(uuid, self.slots[uuid].score)
        else:
            self._delayed.push(uuid, ready_at)
        return True

    def counts(self, now_ms: int) -> tuple[int, int, int, int]:
        """``(ready, due delayed, delayed not yet due, leased)``."""
        due = sum(1 for _, ready_at in self._delayed.items() if ready_at <= now_ms)
        return len(self._ready), due, len(self._delayed) - due, len(self._leased)

    def band_heads(self, most: int) -> list[str]:
        """The uuids at the head of the ready set's first ``most`` priority bands."""
        heads: dict[int, tuple[int, str]] = {}
        for uuid, score in self._ready.items():
            priority = self.slots[uuid].priority
            if priority not in heads or score < heads[priority][0]:
                heads[priority] = (score, uuid)
        return [heads[p][1] for p in sorted(heads)[:most]]

    def first_due(self, now_ms: int) -> int | None:
        """The due time of the earliest delayed message already due, or None."""
        top = self._delayed.peek()
        return top[0] if top is not None and top[0] <= now_ms else None

    def waiting(self, limit: int) -> list[str]:
        """Up to ``limit`` uuids of ready or delayed messages."""
        found = [uuid for uuid, _ in self._ready.items()[:limit]]
        return found + [uuid for uuid, _ in self._delayed.items()[: limit - len(found)]]

    def state(self, uuid: str) -> str | None:
        """``"ready"``, ``"delayed"`` or ``"leased"``, or None if ``uuid`` is not indexed."""
        for name, heap in (("leased", self._leased), ("ready", self._ready),
                           ("delayed", self._delayed)):  # fmt: skip
            if uuid in heap:
                return name
        return None

    def depth(self) -> int:
        """How many messages wait (ready or delayed)."""
        return len(self._ready) + len(self._delayed)

    def next_due(self) -> int | None:
        """The earliest time a delayed message or a lease falls due, or None."""
        keys = [top[0] for top in (self._delayed.peek(), self._leased.peek()) if top]
        return min(keys, default=None)

    def has_work(self, now_ms: int, tasks: Collection[str] | None = None) -> bool:
        """Whether a claim at ``now_ms`` (of ``tasks`` only, when given) would find something to
        lease."""
        due = self.next_due()
        if due is not None and due <= now_ms:
            return True
        if tasks:
            return any(uuid in self._ready and s.task in tasks for uuid, s in self.slots.items())
        return len(self._ready) > 0
