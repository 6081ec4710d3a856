"""The queue administration port: what an operator's tools (``alsek queues``, ``alsek
dead-letters``, ``alsek purge``, dashboards, metrics) ask of a queue, each one atomic step or a
bounded scan (pages of keys, never a whole queue in memory).

A facet of its own beside :class:`~alsek.ports.queue.MessageQueue`: workers never call it. Its
methods are not abstract, so that a backend written before it (a user's subclass of
``Backend``) still builds; such a backend raises :class:`NotImplementedError` when asked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.inspection import Located, QueueCounts
from alsek.domain.model.message import Message

#: Most messages one bounded purge step removes.
PURGE_BATCH = 1_000


class QueueAdmin:
    """Administration of message queues (see the module's docstring)."""

    def queue_counts(self, queue: str) -> QueueCounts:
        """Ready, delayed and leased counts of ``queue`` and the age of its oldest ready
        message, in one atomic step (a queue never submitted to has zero of each).

        Raises:
            ValidationError: if ``queue`` is not a valid queue name.
        """
        raise NotImplementedError(f"{type(self).__name__} has no queue administration")

    def count_dead_letters(self, queue: str) -> int:
        """How many messages of ``queue`` are in the dead letter queue (a bounded scan)."""
        raise NotImplementedError(f"{type(self).__name__} has no queue administration")

    def dead_letter_pages(self, queue: str | None = None) -> Iterator[list[Message]]:
        """The dead letters (of ``queue``, or of every queue), a page (a few hundred) at a
        time: a bounded scan. Unreadable ones are logged and skipped."""
        raise NotImplementedError(f"{type(self).__name__} has no queue administration")

    def find(self, uuid: str) -> Located | None:
        """The message stored under ``uuid`` (in a queue or in the dead letter queue) and its
        state, or None. A lookup per queue, then, if it is in none, a bounded scan of the dead
        letters."""
        raise NotImplementedError(f"{type(self).__name__} has no queue administration")

    def requeue_dead_letter(
        self, dead: Message, fresh: Message, *, effects: Effects = NO_EFFECTS
    ) -> bool:
        """In one atomic step, if ``dead`` is in the dead letter queue: submit ``fresh`` (its
        new version, same uuid) with ``effects`` and drop the dead letter.

        Returns:
            False (nothing written) if ``dead`` is not in the dead letter queue.

        Raises:
            MessageAlreadyExistsError: if a message with its uuid is stored in its queue
                (nothing written).
        """
        raise NotImplementedError(f"{type(self).__name__} has no queue administration")

    def delete_dead_letters(self, messages: Sequence[Message]) -> int:
        """Drop ``messages`` from the dead letter queue; return how many were there."""
        raise NotImplementedError(f"{type(self).__name__} has no queue administration")

    def purge_step(self, queue: str, *, limit: int = PURGE_BATCH) -> int:
        """Remove up to ``limit`` waiting (ready or delayed) messages of ``queue``, bodies and
        index entries, in one atomic step. Leased messages are left to their holders: they
        finish, retry or fail as usual (purge again to drop one that comes back).

        Returns:
            How many were removed (0: none is waiting any more).
        """
        raise NotImplementedError(f"{type(self).__name__} has no queue administration")
