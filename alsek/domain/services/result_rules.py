"""What the result stores (:class:`~alsek.domain.services.result_store.ResultStore` and its asyncio
twin :class:`~alsek.domain.services.result_async.AsyncResultStore`) do, written once as steps
(:mod:`alsek.domain.services.kv_steps`) that each store performs on its backend.

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

from typing import Any

from alsek.domain.model.effects import NO_EFFECTS, Effects, Publish, Write
from alsek.domain.model.errors import ResultNotFoundError, ResultTimeoutError
from alsek.domain.model.message import Message
from alsek.domain.model.steps import Steps
from alsek.domain.services import kv_steps as kv
from alsek.domain.services.lineage import chain_length, run_family, runs_name
from alsek.domain.services.notification import Deadline, check_timeout
from alsek.ports.keyvalue import MISSING

Record = dict[str, Any]


def result_name(uuid: str) -> str:
    """The storage name of the result of message ``uuid``."""
    return f"results:{uuid}"


def result_channel(uuid: str) -> str:
    """The channel announcing results of message ``uuid`` and of its descendants."""
    return f"results:{uuid}"


def is_record(value: Any) -> bool:
    """Whether ``value`` is a stored result record."""
    return isinstance(value, dict) and "result" in value and "timestamp" in value


class ResultRules:
    """Operations (as steps) shared by both result stores.

    Args:
        backend: where results are kept (values must suit its serializer).
    """

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backend={self.backend!r})"

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

    @staticmethod
    def channels(message: Message, descendants: bool = False) -> list[str]:
        """The channels announcing results of ``message`` (and of its descendants)."""
        uuids = [str(message.uuid)]
        if descendants:
            uuids += message.descendant_uuids or []
        return [result_channel(uuid) for uuid in uuids]

    # -- operations as steps ---------------------------------------------------------------------

    def set_steps(self, message: Message, result: Any, nx: bool) -> Steps[None]:
        """Store ``result`` now and announce it."""
        effects = self.effects_for(message, result)
        for write in effects.writes:
            yield kv.Set(write.name, write.value, ttl=write.ttl_ms, nx=nx)
        for publish in effects.publishes:
            yield kv.Publish(publish.channel, publish.value)

    def get_steps(
        self, message: Message, timeout: int, keep: bool, with_metadata: bool, descendants: bool
    ) -> Steps[Any]:
        """The result, waiting up to ``timeout`` ms (see :meth:`ResultStore.get`)."""
        check_timeout(timeout)
        records, complete = yield from self.collect_steps(message, descendants)
        if not complete and timeout > 0:
            deadline = Deadline(timeout)
            yield kv.Subscribe(tuple(dict.fromkeys(self.channels(message, descendants))))
            while True:  # subscribed before looking again: no write is missed
                records, complete = yield from self.collect_steps(message, descendants)
                if complete or deadline.passed:
                    break
                if (yield kv.Next(deadline.remaining_ms())) is not MISSING:
                    yield kv.Drain()
        if not records or not (complete or descendants):
            if timeout:
                raise ResultTimeoutError(f"No result for {message.summary} after {timeout:,} ms")
            raise ResultNotFoundError(f"No result for {message.summary}")
        return (yield from self.take_steps(records, keep, with_metadata, descendants))

    def take_steps(
        self, records: list[Record], keep: bool, with_metadata: bool, descendants: bool
    ) -> Steps[Any]:
        """Shape fetched ``records`` as :meth:`ResultStore.get` returns them, deleting them
        unless ``keep``."""
        if not keep:
            yield from self.delete_records_steps(records)
        shaped = [dict(r) if with_metadata else r["result"] for r in records]
        return shaped if descendants else shaped[0]

    def delete_steps(self, message: Message, descendants: bool, missing_ok: bool) -> Steps[int]:
        """Delete the results of ``message`` (and its descendants); how many went."""
        records, _ = yield from self.collect_steps(message, descendants)
        if not records and not missing_ok:
            raise ResultNotFoundError(f"No result for {message.summary}")
        return (yield from self.delete_records_steps(records))

    def delete_records_steps(self, records: list[Record]) -> Steps[int]:
        """Delete the stored ``records``."""
        for record in records:
            yield kv.Delete(result_name(record["uuid"]))
        return len(records)

    def collect_steps(
        self, message: Message, descendants: bool = False
    ) -> Steps[tuple[list[Record], bool]]:
        """The stored records of ``message`` (and its descendants), oldest first, and whether
        they are complete (see :meth:`ResultStore.get`). Reads only; one or two round trips."""
        uuid = str(message.uuid)
        if not descendants:
            record = yield kv.Get(result_name(uuid), None)
            return ([record], True) if is_record(record) else ([], False)
        chain = [uuid, *(message.descendant_uuids or [])]
        *values, runs = yield kv.GetMany((*map(result_name, chain), runs_name(uuid)))
        own = [v for v in values if is_record(v)]
        fired = yield from self._runs(message, runs)
        records = sorted(own + fired, key=lambda r: r["timestamp"])
        return records, len(own) == len(chain) or bool(fired)

    def collect_many_steps(self, messages: list[Message]) -> Steps[list[Record | None]]:
        """The stored record of each of ``messages`` (None where missing), in one round trip."""
        values = yield kv.GetMany(tuple(result_name(str(m.uuid)) for m in messages))
        return [v if is_record(v) else None for v in values]

    def _runs(self, progenitor: Message, runs: Any) -> Steps[list[Record]]:
        """Records of the trigger runs of ``progenitor`` (and their callbacks)."""
        if not isinstance(runs, int) or runs <= 0:
            return []
        callbacks = chain_length(progenitor)
        uuids = [u for n in range(runs) for u in run_family(str(progenitor.uuid), n, callbacks)]
        values = yield kv.GetMany(tuple(result_name(u) for u in uuids))
        return [v for v in values if is_record(v)]
