"""Which dead letters an operator means (filters), and what a requeued message looks like."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from alsek.domain.model.message import Message

#: The metadata key under which a requeued message keeps the history of its past lives.
HISTORY_KEY = "alsek_requeues"


@frozen(kw_only=True)
class DeadLetterFilter:
    """Criteria a dead letter must all meet (None: any).

    Attributes:
        queue: its queue.
        task: its task's name.
        exception: the class name of the exception it failed with (``"ValueError"``).
        older_than_ms: it failed at least this long ago (age: from its ``updated_at``, the
            time of its last retry, else its creation).
        newer_than_ms: it failed at most this long ago.
    """

    queue: str | None = None
    task: str | None = None
    exception: str | None = None
    older_than_ms: int | None = None
    newer_than_ms: int | None = None

    def matches(self, message: Message, now_ms: int) -> bool:
        """Whether ``message`` meets every criterion at ``now_ms``."""
        age = now_ms - int(message.updated_at or message.created_at or 0)
        return (
            (self.queue is None or message.queue == self.queue)
            and (self.task is None or message.task_name == self.task)
            and (self.exception is None or exception_name(message) == self.exception)
            and (self.older_than_ms is None or age >= self.older_than_ms)
            and (self.newer_than_ms is None or age <= self.newer_than_ms)
        )


def exception_name(message: Message) -> str | None:
    """The class name of the exception ``message`` failed with, or None."""
    details = message.exception_details or {}
    name = details.get("name")
    return str(name) if name else None


def requeued(message: Message, now_ms: int) -> Message:
    """``message`` as it goes back to its queue at ``now_ms``: retries reset, ready at once,
    the exception cleared, and its past life (retries, exception, when it was created, failed
    and requeued) appended to ``metadata[HISTORY_KEY]``."""
    past: dict[str, Any] = {
        "retries": message.retries,
        "exception_details": message.exception_details,
        "created_at": message.created_at,
        "failed_at": message.updated_at,
        "requeued_at": now_ms,
    }
    metadata = dict(message.metadata or {})
    metadata[HISTORY_KEY] = [*metadata.get(HISTORY_KEY, []), past]
    fresh = message.clone().update(retries=0, exception_details=None, metadata=metadata)
    fresh.created_at = fresh.updated_at = now_ms
    fresh.delay = 0
    fresh.lease_token = None
    return fresh
