"""Deferred mode: ``task.defer()`` makes the next ``generate()`` build its message without
submitting it.

Deferrals are counted, per task and per thread (a context variable, so per asyncio task too),
not kept as a one-shot flag. The tour's nested callbacks need that::

    add_1_previous.defer().generate(callback=add_1_previous.defer().generate())

Python calls the outer ``defer()``, then evaluates the argument (the inner ``defer()`` and
``generate()``), and only then the outer ``generate()``. With a flag the inner ``generate()`` would
clear it and the outer message would be submitted at once; with a count each ``generate()``
consumes the deferral of the ``defer()`` that preceded it, however deep the nesting.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType

_EMPTY: Mapping[object, int] = MappingProxyType({})
#: Pending deferrals by owner (a task). Replaced, never mutated: a copied context stays apart.
_PENDING: ContextVar[Mapping[object, int]] = ContextVar("alsek_pending_deferrals", default=_EMPTY)


def _set(owner: object, count: int) -> None:
    pending = dict(_PENDING.get())
    if count > 0:
        pending[owner] = count
    else:
        pending.pop(owner, None)
    _PENDING.set(MappingProxyType(pending))


def pending(owner: object) -> int:
    """How many deferrals of ``owner`` wait in this thread."""
    return _PENDING.get().get(owner, 0)


def add(owner: object) -> None:
    """Record one more deferral of ``owner`` in this thread."""
    _set(owner, pending(owner) + 1)


def take(owner: object) -> bool:
    """Consume one deferral of ``owner``; return whether there was one."""
    count = pending(owner)
    if count:
        _set(owner, count - 1)
    return count > 0


def cancel(owner: object) -> None:
    """Drop every deferral of ``owner`` in this thread."""
    _set(owner, 0)
