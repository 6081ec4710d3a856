"""Operations written once, run synchronously or under asyncio ("sans-I/O").

An operation is a generator: it yields a *step* (a value describing one I/O action), receives the
action's result and goes on; its return value is the operation's result. A driver performs the
steps: :func:`drive` with a plain function, :func:`adrive` with a coroutine function. An error a
driver meets while performing a step is thrown into the operation at that step. A step that is
an :class:`Emit` hands a value out instead (for operations that stream values: :func:`iterate`,
:func:`aiterate`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, TypeVar

from attrs import frozen

T = TypeVar("T")
Steps = Generator[Any, Any, T]


@frozen
class Emit:
    """A value an operation hands to its caller (the step's result is None)."""

    value: Any


def drive(steps: Steps[T], perform: Callable[[Any], Any]) -> T:
    """Run ``steps`` to the end, performing each step with ``perform``; return its value."""
    try:
        step = next(steps)
        while True:
            try:
                reply = perform(step)
            except Exception as error:
                step = steps.throw(error)
            else:
                step = steps.send(reply)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def adrive(steps: Steps[T], perform: Callable[[Any], Awaitable[Any]]) -> T:
    """:func:`drive` for a coroutine ``perform``."""
    try:
        step = next(steps)
        while True:
            try:
                reply = await perform(step)
            except Exception as error:
                step = steps.throw(error)
            else:
                step = steps.send(reply)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def iterate(steps: Steps[None], perform: Callable[[Any], Any]) -> Iterator[Any]:
    """Run ``steps``, yielding the value of each :class:`Emit` step."""
    reply: Any = None
    while True:
        try:
            step = steps.send(reply)
        except StopIteration:
            return
        if isinstance(step, Emit):
            yield step.value
            reply = None
        else:
            reply = perform(step)


async def aiterate(
    steps: Steps[None], perform: Callable[[Any], Awaitable[Any]]
) -> AsyncIterator[Any]:
    """:func:`iterate` for a coroutine ``perform``."""
    reply: Any = None
    while True:
        try:
            step = steps.send(reply)
        except StopIteration:
            return
        if isinstance(step, Emit):
            yield step.value
            reply = None
        else:
            reply = await perform(step)
