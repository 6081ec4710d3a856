"""Iterating over the results of many messages as they arrive.

One subscription covers every message; results are looked up only for the messages a
notification names (plus a slow safety re-check), so waiting on thousands of messages costs one
connection and no polling.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from alsek.domain.model.errors import ResultTimeoutError, ValidationError
from alsek.domain.model.failure import failure_error, is_failure
from alsek.domain.model.message import Message
from alsek.domain.services.notification import Deadline, drain
from alsek.domain.services.result_store import Record, ResultStore
from alsek.ports.keyvalue import MISSING

#: How long a stream waits for all results by default, in milliseconds.
DEFAULT_STREAM_TIMEOUT_MS = 300_000


class ResultPool:
    """Iterates over the results of messages.

    Args:
        result_store: where the results are stored.

    Example:
        >>> pool = ResultPool(result_store)
        >>> for message, result in pool.istream(m1, m2, m3, timeout=10_000):
        ...     print(message.uuid, result)
    """

    def __init__(self, result_store: ResultStore) -> None:
        self.result_store = result_store

    def __repr__(self) -> str:
        return f"ResultPool(result_store={self.result_store!r})"

    def istream(
        self,
        *messages: Message,
        descendants: bool = False,
        timeout: int | None = DEFAULT_STREAM_TIMEOUT_MS,
        keep: bool = False,
        with_metadata: bool = False,
        wait: Any = None,
    ) -> Iterator[tuple[Message, Any]]:
        """Yield ``(message, result)`` for each message as soon as its result is available.

        Args:
            *messages: the messages (distinct uuids).
            descendants: yield each message's results with those of its descendants, as
                :meth:`ResultStore.get` does with ``descendants=True``.
            timeout: the longest to wait for all of them, in milliseconds (None: no limit).
            keep: keep results after fetching them (by default they are deleted).
            with_metadata: yield result records instead of bare results.
            wait: accepted for Alsek 1.3.2 code; no effect (nothing polls: results are
                announced).

        Raises:
            ResultTimeoutError: (a ``ResultNotFoundError`` and a ``TimeoutError``) at the
                timeout, naming how many results are still missing (everything available was
                yielded before). Alsek 1.3.2 waited without limit: pass ``timeout=None``.
            TaskFailedError: as soon as one of the messages (with ``descendants``: a member of
                its callback chain) failed for good (``TaskRevokedError``: was revoked), after
                the results that arrived with it.
            ValidationError: for duplicate messages or a bad timeout.
        """
        for index, result in self._arrivals(messages, descendants, timeout, keep, with_metadata):
            yield messages[index], result

    def stream(
        self,
        *messages: Message,
        descendants: bool = False,
        timeout: int | None = DEFAULT_STREAM_TIMEOUT_MS,
        keep: bool = False,
        with_metadata: bool = False,
        wait: Any = None,
    ) -> Iterator[tuple[Message, Any]]:
        """Like :meth:`istream`, but yield in the order the messages were given."""
        waiting: dict[int, Any] = {}
        following = 0
        for index, result in self._arrivals(messages, descendants, timeout, keep, with_metadata):
            waiting[index] = result
            while following in waiting:
                yield messages[following], waiting.pop(following)
                following += 1

    # -- the engine ------------------------------------------------------------------------------

    def _arrivals(
        self,
        messages: tuple[Message, ...],
        descendants: bool,
        timeout: int | None,
        keep: bool,
        with_metadata: bool,
    ) -> Iterator[tuple[int, Any]]:
        _validate(messages, timeout)
        if not messages:
            return
        pending = set(range(len(messages)))
        by_uuid = self._index_by_uuid(messages, descendants)
        deadline = Deadline(timeout)
        channels = [c for m in messages for c in self.result_store.channels(m, descendants)]
        with self.result_store.backend.subscribe(*dict.fromkeys(channels)) as subscription:
            candidates = set(pending)
            while True:
                for index, records in self._ready(messages, sorted(candidates), descendants):
                    pending.discard(index)
                    yield (
                        index,
                        self.result_store.take(
                            records, keep=keep, with_metadata=with_metadata, descendants=descendants
                        ),
                    )
                if not pending:
                    return
                if deadline.passed:
                    raise ResultTimeoutError(
                        f"{len(pending):,} of {len(messages):,} results not available "
                        f"after {timeout:,} ms"
                    )
                note = subscription.get(deadline.remaining_ms())
                notes = [] if note is MISSING else [note, *drain(subscription)]
                candidates = _named(notes, by_uuid) & pending if notes else set(pending)

    @staticmethod
    def _index_by_uuid(messages: tuple[Message, ...], descendants: bool) -> dict[str, set[int]]:
        """Which messages a notification about a uuid concerns."""
        by_uuid: dict[str, set[int]] = {}
        for index, message in enumerate(messages):
            family = [str(message.uuid)]
            if descendants:
                family += message.descendant_uuids or []
            for uuid in family:
                by_uuid.setdefault(uuid, set()).add(index)
        return by_uuid

    def _ready(
        self, messages: tuple[Message, ...], indexes: list[int], descendants: bool
    ) -> Iterator[tuple[int, list[Record]]]:
        """The complete results among ``indexes`` (one round trip without descendants)."""
        if not indexes:
            return
        if not descendants:
            found = self.result_store.collect_many([messages[i] for i in indexes])
            failed = [record for record in found if is_failure(record)]
            for index, record in zip(indexes, found, strict=True):
                if record is not None and not is_failure(record):
                    yield index, [record]
            if failed:  # after the results that came with it
                raise failure_error(failed[0])  # type: ignore[arg-type]
            return
        for index in indexes:
            records, complete = self.result_store.settled(messages[index], descendants=True)
            if complete:
                yield index, records


def _named(notes: list[Any], by_uuid: dict[str, set[int]]) -> set[int]:
    named: set[int] = set()
    for note in notes:
        if isinstance(note, dict):
            for key in ("uuid", "progenitor_uuid"):
                named |= by_uuid.get(str(note.get(key)), set())
    return named


def _validate(messages: tuple[Message, ...], timeout: int | None) -> None:
    uuids = [m.uuid for m in messages]
    if len(set(uuids)) != len(uuids):
        raise ValidationError("the same message was given more than once")
    if timeout is not None and (not isinstance(timeout, int) or timeout < 0):
        raise ValidationError(
            f"timeout must be None or a non-negative integer (ms), got {timeout!r}"
        )
