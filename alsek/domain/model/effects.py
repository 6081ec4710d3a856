"""Side effects that ride along with a queue operation and commit atomically with it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from attrs import field, frozen

from alsek.domain.model.message import Message


@frozen
class Write:
    """Store ``value`` (serialized by the backend) under ``name``, expiring after ``ttl_ms``."""

    name: str
    value: Any
    ttl_ms: int | None = None


@frozen
class Publish:
    """Publish ``value`` (serialized by the backend) on ``channel``."""

    channel: str
    value: Any


def _writes(items: Iterable[Write]) -> tuple[Write, ...]:
    return tuple(items)


def _names(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


def _publishes(items: Iterable[Publish]) -> tuple[Publish, ...]:
    return tuple(items)


def _messages(items: Iterable[Message]) -> tuple[Message, ...]:
    return tuple(items)


@frozen
class Effects:
    """Writes, deletes, publishes and submissions applied in the same atomic step as a queue
    operation: either all of them happen together with the operation, or none do.

    Attributes:
        writes: key-value writes (results, statuses).
        deletes: names to delete.
        publishes: pub/sub notifications (sent after the writes).
        submits: messages to submit (callbacks).
    """

    writes: tuple[Write, ...] = field(default=(), converter=_writes)
    deletes: tuple[str, ...] = field(default=(), converter=_names)
    publishes: tuple[Publish, ...] = field(default=(), converter=_publishes)
    submits: tuple[Message, ...] = field(default=(), converter=_messages)

    def __add__(self, other: Effects) -> Effects:
        return Effects(
            writes=self.writes + other.writes,
            deletes=self.deletes + other.deletes,
            publishes=self.publishes + other.publishes,
            submits=self.submits + other.submits,
        )

    def __bool__(self) -> bool:
        return bool(self.writes or self.deletes or self.publishes or self.submits)


NO_EFFECTS = Effects()
