"""How one run of a task went: a pure value, judged by the processing rules."""

from __future__ import annotations

import traceback
from typing import Any

from attrs import field, frozen

#: Longest traceback text kept on a message (characters, the end is kept).
MAX_TRACEBACK_CHARS = 20_000


@frozen
class Outcome:
    """How one run of a task went.

    Attributes:
        result: what the function returned (when it succeeded).
        error: what it raised (None when it succeeded).
        traceback: the formatted traceback of ``error``.
        callback: whether the message's callback is to be submitted (``do_callback`` said yes).
        runtime_ms: how long the run took, in ms (None: not measured).
    """

    result: Any = None
    error: BaseException | None = None
    traceback: str | None = None
    callback: bool = False
    runtime_ms: float | None = field(default=None, eq=False)

    @property
    def succeeded(self) -> bool:
        """Whether the run raised nothing."""
        return self.error is None

    @classmethod
    def failure(cls, error: BaseException) -> Outcome:
        """The outcome of a run that raised ``error`` (the traceback is taken from it)."""
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        return cls(error=error, traceback=text[-MAX_TRACEBACK_CHARS:])
