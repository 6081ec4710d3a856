"""Who descends from whom, findable without scanning.

A trigger's progenitor message never runs itself: every time the trigger fires, a *run* is
submitted. Run number ``n`` of progenitor ``P`` gets the uuid ``run_uuid(P, n)`` and each of its
callbacks a uuid derived from the run's, so anyone holding ``P`` can name every descendant once
they know how many runs were fired. That count lives under :func:`runs_name`, written atomically
with each run's submission. Callbacks of an ordinary message are named by the message itself
(:attr:`Message.descendant_uuids`).
"""

from __future__ import annotations

import uuid
from typing import Any

from alsek.domain.model.message import Message

_LINEAGE = uuid.UUID("6d1f3f64-2a37-4bb5-9a1e-0c5b2c8f4a11")


def runs_name(progenitor_uuid: str) -> str:
    """The storage name of the number of runs fired for trigger progenitor ``progenitor_uuid``."""
    return f"descendants:{progenitor_uuid}:runs"


def run_uuid(progenitor_uuid: str, index: int) -> str:
    """The uuid of run number ``index`` (from 0) of trigger progenitor ``progenitor_uuid``."""
    return str(uuid.uuid5(_LINEAGE, f"{progenitor_uuid}/run/{index}"))


def callback_uuid(parent_uuid: str, position: int) -> str:
    """The uuid of the ``position``-th callback (from 0) in the chain of run ``parent_uuid``."""
    return str(uuid.uuid5(_LINEAGE, f"{parent_uuid}/callback/{position}"))


def chain_length(message: Message) -> int:
    """How many callbacks are chained after ``message``."""
    return len(message.descendant_uuids or ())


def run_family(progenitor_uuid: str, index: int, callbacks: int) -> list[str]:
    """The uuids of run ``index`` and of its ``callbacks`` chained callbacks, in chain order."""
    run = run_uuid(progenitor_uuid, index)
    return [run, *(callback_uuid(run, position) for position in range(callbacks))]


def make_run(progenitor: Message, index: int, now_ms: int) -> Message:
    """Run number ``index`` of ``progenitor``: a copy under its derived uuid, created at
    ``now_ms``, descending from the progenitor, with its callbacks renamed after it."""
    run = progenitor.duplicate(run_uuid(str(progenitor.uuid), index))
    run.progenitor_uuid = progenitor.uuid
    run.created_at = run.updated_at = now_ms
    run.callback_message_data = _rename_chain(run.callback_message_data, str(run.uuid), 0)
    return run


def _rename_chain(data: dict[str, Any] | None, run: str, position: int) -> dict[str, Any] | None:
    if not data:
        return data
    renamed = dict(data)
    renamed["uuid"] = callback_uuid(run, position)
    renamed["callback_message_data"] = _rename_chain(
        data.get("callback_message_data"), run, position + 1
    )
    return renamed
