"""What an operator sees of a queue: how many messages are in each state, and how long the
longest-waiting one has waited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from attrs import frozen


@frozen(kw_only=True)
class QueueCounts:
    """The index counts of one queue, read in one atomic step.

    Attributes:
        queue: the queue's name.
        ready: messages a claim could take now (ready, and delayed ones already due).
        delayed: messages waiting for their due time.
        leased: messages a consumer holds (running, or prefetched; an expired lease counts
            until the next claim returns it to ready).
        oldest_ready_age_ms: how long (ms) the ready message at the head of the queue that has
            waited longest has been ready (one head per priority band is looked at, and the
            earliest due delayed message); None when nothing is ready.
    """

    queue: str
    ready: int = 0
    delayed: int = 0
    leased: int = 0
    oldest_ready_age_ms: int | None = None


@frozen(kw_only=True)
class QueueStats:
    """The counts of one queue and its dead letters.

    Attributes:
        queue: the queue's name.
        ready: messages a claim could take now (ready, and delayed ones already due).
        delayed: messages waiting for their due time.
        leased: messages a consumer holds.
        dead: messages of the queue in the dead letter queue.
        oldest_ready_age_ms: see :class:`QueueCounts`; None when nothing is ready.
    """

    queue: str
    ready: int = 0
    delayed: int = 0
    leased: int = 0
    dead: int = 0
    oldest_ready_age_ms: int | None = None

    @classmethod
    def of(cls, counts: QueueCounts, dead: int) -> QueueStats:
        """The stats made of ``counts`` and the number of ``dead`` letters."""
        return cls(
            queue=counts.queue, ready=counts.ready, delayed=counts.delayed, leased=counts.leased,
            dead=dead, oldest_ready_age_ms=counts.oldest_ready_age_ms,
        )  # fmt: skip

    def as_dict(self) -> dict[str, object]:
        """The stats as plain values (for JSON)."""
        return {
            "queue": self.queue, "ready": self.ready, "delayed": self.delayed,
            "leased": self.leased, "dead": self.dead,
            "oldest_ready_age_ms": self.oldest_ready_age_ms,
        }  # fmt: skip


#: Where a message can be: the states :class:`Located` names.
STATES = ("ready", "delayed", "leased", "dead")


@frozen
class Located:
    """A message found by its uuid, and where it is.

    Attributes:
        message: the stored message (its body).
        state: ``"ready"``, ``"delayed"``, ``"leased"`` or ``"dead"`` (in the dead letter queue).
    """

    message: Any
    state: str


#: Priority bands whose heads a queue count looks at for the oldest ready message.
HEAD_BANDS = 16


def oldest_ready_age_ms(now_ms: int, ready_ats: Iterable[int]) -> int | None:
    """How long the earliest of ``ready_ats`` (times messages became ready, ms) has been ready
    at ``now_ms`` (never negative); None when there is none."""
    earliest = min(ready_ats, default=None)
    return None if earliest is None else max(now_ms - earliest, 0)
