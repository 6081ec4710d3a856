"""The ticker port: call a function every so often in the background, until stopped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Ticking(Protocol):
    """A running ticker."""

    def stop(self) -> None:
        """Stop calling (idempotent); a call in progress finishes."""
        ...


class Ticker(Protocol):
    """Starts background ticks (a thread in the standard adapter)."""

    def start(self, interval_ms: int, tick: Callable[[], None], *, name: str) -> Ticking:
        """Call ``tick`` every ``interval_ms`` from now on, in the background, until stopped.

        ``tick`` must not raise; the adapter logs and ignores anything it does raise.
        """
        ...
