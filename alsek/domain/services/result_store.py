"""Result storage: each result written with the ack that finishes its message, and waited for
through pub/sub rather than by polling.

Data model (short names; the backend adds its namespace):

* ``results:<uuid>`` holds ``{"result", "timestamp", "uuid", "progenitor_uuid"}`` for every
  message, descendant or not, expiring after the message's ``result_ttl``.
* Each write publishes ``{"uuid", "progenitor_uuid"}`` on the channel ``results:<uuid>`` and, for a
  descendant, also on ``results:<progenitor_uuid>``, so whoever waits on a message or on its
  progenitor wakes up.
* Descendants are found by name, never by scanning: a message's callbacks are named in its
  ``callback_message_data``; a trigger's runs are derived from the progenitor's uuid and the run
  count under ``descendants:<progenitor uuid>:runs`` (see :mod:`alsek.domain.services.lineage`).
"""

from __future__ import annotations

import logging
from typing import Any

from alsek.domain.model.effects import NO_EFFECTS, Effects, Publish, Write
from alsek.domain.model.errors import ResultNotFoundError, ResultTimeoutError
from alsek.domain.model.message import Message
from alsek.domain.services import serialization
from alsek.domain.services.lineage import chain_length, run_family, runs_name
from alsek.domain.services.notification import check_timeout, wait_until
from alsek.ports.keyvalue import MISSING, KeyValueStore

log = logging.getLogger("alsek.results")

Record = dict[str, Any]


def result_name(uuid: str) -> str:
    """The storage name of the result of message ``uuid``."""
    return f"results:{uuid}"


def result_channel(uuid: str) -> str:
    """The channel announcing results of message ``uuid`` and of its descendants."""
    return f"results:{uuid}"


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and "result" in value and "timestamp" in value


class ResultStore:
    """Stores task results in a backend.

    Args:
        backend: where results are kept (values must suit its serializer).

    Example:
        >>> result_store = ResultStore(backend)
        >>> @task(broker, result_store=result_store)
        ... def add(a: int, b: int) -> int:
        ...     return a + b
        >>> result_store.get(add.generate(args=(1, 2)), timeout=5_000)
        3
    """

    def __init__(self, backend: KeyValueStore) -> None:
        self.backend = backend

    def __repr__(self) -> str:
        return f"ResultStore(backend={self.backend!r})"

    def serialize(self) -> dict[str, Any]:
        """The store's settings, its backend encoded (Alsek 1.3.2's form)."""
        return serialization.result_store_settings(self)

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> ResultStore:
        """The store :meth:`serialize` described, on a fresh backend."""
        return serialization.rebuilt(cls, data)  # type: ignore[no-any-return]

    # -- writing ---------------------------------------------------------------------------------

    def effects_for(self, message: Message, result: Any) -> Effects:
        """The writes that store ``result`` for ``message``, to commit with its ack.

        The record carries the time of writing (ms), the uuid and the progenitor's uuid, and
        expires after ``message.result_ttl`` ms (never when None; a ttl of 0 stores nothing).
        """
        if message.result_ttl == 0:
            return NO_EFFECTS
        uuid, progenitor = str(message.uuid), message.progenitor_uuid
        record = {
            "result": result,
            "timestamp": self.backend.clock.now_ms(),
            "uuid": uuid,
            "progenitor_uuid": progenitor,
        }
        note = {"uuid": uuid, "progenitor_uuid": progenitor}
        channels = [result_channel(uuid)] + ([result_channel(progenitor)] if progenitor else [])
        return Effects(
            writes=(Write(result_name(uuid), record, ttl_ms=message.result_ttl),),
            publishes=tuple(Publish(channel, note) for channel in channels),
        )

    def set(self, message: Message, result: Any, nx: bool = True) -> None:
        """Store ``result`` for ``message`` now (outside any queue operation) and announce it.

        Args:
            message: whose result it is.
            result: the result (anything the backend's serializer takes).
            nx: refuse to overwrite a stored result (as Alsek 1.3.2).

        Raises:
            KeyError: with ``nx``, if a result is stored for ``message`` already.
        """
        effects = self.effects_for(message, result)
        for write in effects.writes:
            self.backend.set(write.name, write.value, ttl=write.ttl_ms, nx=nx)
        for publish in effects.publishes:
            self.backend.publish(publish.channel, publish.value)

    # -- reading ---------------------------------------------------------------------------------

    def exists(self, message: Message, descendants: bool = False) -> bool:
        """Whether the result of ``message`` is stored; with ``descendants``, whether the
        results of its whole callback chain are (for a trigger's progenitor: any run's)."""
        return self.collect(message, descendants)[1]

    def get(
        self,
        message: Message,
        timeout: int = 0,
        keep: bool = False,
        with_metadata: bool = False,
        descendants: bool = False,
    ) -> Any:
        """The result of ``message``, waiting for it up to ``timeout`` ms.

        Args:
            message: whose result to fetch.
            timeout: how long to wait, in milliseconds (0: do not wait).
            keep: keep the results after fetching them (by default they are deleted).
            with_metadata: return ``{"result", "timestamp", "uuid", "progenitor_uuid"}`` records
                (``timestamp``: when the result was written, ms since the epoch).
            descendants: return a list with the results of ``message`` and of every descendant
                (callbacks, trigger runs), ordered by the time they were written. It waits until
                the whole callback chain has results (for a trigger's progenitor: any run);
                after the timeout it returns the results that exist, if any.

        Returns:
            The result (or record), or a list of them with ``descendants``.

        Raises:
            ResultNotFoundError: (a ``KeyError``) if no result is available (without a timeout).
            ResultTimeoutError: (both a ``ResultNotFoundError`` and a ``TimeoutError``) if no
                result is available after ``timeout``.
            ValidationError: if ``timeout`` is not a non-negative integer.
        """
        check_timeout(timeout)
        last: list[list[Record]] = [[]]

        def probe() -> Any:
            records, complete = self.collect(message, descendants)
            last[0] = records
            return records if complete else MISSING

        found = wait_until(self.backend, self.channels(message, descendants), probe, timeout)
        records = last[0] if found is MISSING and descendants else found
        if records is MISSING or not records:
            if timeout:
                raise ResultTimeoutError(f"No result for {message.summary} after {timeout:,} ms")
            raise ResultNotFoundError(f"No result for {message.summary}")
        return self.take(records, keep=keep, with_metadata=with_metadata, descendants=descendants)

    def take(
        self, records: list[Record], *, keep: bool, with_metadata: bool, descendants: bool
    ) -> Any:
        """Shape fetched ``records`` as :meth:`get` returns them, deleting them unless ``keep``."""
        if not keep:
            self._delete_records(records)
        shaped = [dict(r) if with_metadata else r["result"] for r in records]
        return shaped if descendants else shaped[0]

    # -- deleting --------------------------------------------------------------------------------

    def delete(self, message: Message, descendants: bool = True, missing_ok: bool = False) -> int:
        """Delete the stored result of ``message`` and (by default, as Alsek 1.3.2) of its
        descendants.

        Returns:
            How many results were deleted.

        Raises:
            ResultNotFoundError: if there was nothing to delete and not ``missing_ok``.
        """
        records, _ = self.collect(message, descendants)
        if not records and not missing_ok:
            raise ResultNotFoundError(f"No result for {message.summary}")
        return self._delete_records(records)

    def _delete_records(self, records: list[Record]) -> int:
        for record in records:
            self.backend.delete(result_name(record["uuid"]), missing_ok=True)
        return len(records)

    # -- lookups ---------------------------------------------------------------------------------

    @staticmethod
    def channels(message: Message, descendants: bool = False) -> list[str]:
        """The channels announcing results of ``message`` (and of its descendants)."""
        uuids = [str(message.uuid)]
        if descendants:
            uuids += message.descendant_uuids or []
        return [result_channel(uuid) for uuid in uuids]

    def collect(self, message: Message, descendants: bool = False) -> tuple[list[Record], bool]:
        """The stored records of ``message`` (and its descendants), oldest first, and whether
        they are complete (see :meth:`get`). Reads only; one or two round trips."""
        uuid = str(message.uuid)
        if not descendants:
            record = self.backend.get(result_name(uuid), default=None)
            return ([record], True) if _is_record(record) else ([], False)
        chain = [uuid, *(message.descendant_uuids or [])]
        *values, runs = self.backend.get_many([*map(result_name, chain), runs_name(uuid)])
        own = [v for v in values if _is_record(v)]
        fired = self._runs(message, runs)
        records = sorted(own + fired, key=lambda r: r["timestamp"])
        return records, len(own) == len(chain) or bool(fired)

    def collect_many(self, messages: list[Message]) -> list[Record | None]:
        """The stored record of each of ``messages`` (None where missing), in one round trip."""
        values = self.backend.get_many([result_name(str(m.uuid)) for m in messages])
        return [v if _is_record(v) else None for v in values]

    def _runs(self, progenitor: Message, runs: Any) -> list[Record]:
        """Records of the trigger runs of ``progenitor`` (and their callbacks)."""
        if not isinstance(runs, int) or runs <= 0:
            return []
        callbacks = chain_length(progenitor)
        uuids = [u for n in range(runs) for u in run_family(str(progenitor.uuid), n, callbacks)]
        values = self.backend.get_many([result_name(u) for u in uuids])
        return [v for v in values if _is_record(v)]
