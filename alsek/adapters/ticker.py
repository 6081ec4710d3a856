"""The thread ticker: a daemon thread per ticker, waiting on an event between ticks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("alsek.ticker")


class _Ticking:
    def __init__(self, interval_ms: int, tick: Callable[[], None], name: str) -> None:
        self._stopped = threading.Event()
        self._interval_s = max(interval_ms, 1) / 1000
        self._tick = tick
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            try:
                self._tick()
            except Exception:  # a ticker outlives a failed tick (e.g. Redis down)
                log.exception("A background tick (%s) failed.", self._thread.name)

    def stop(self) -> None:
        """Stop ticking (a tick in progress finishes on its own)."""
        self._stopped.set()


class ThreadTicker:
    """Runs each ticker in a daemon thread of its own (it dies with the process)."""

    def start(self, interval_ms: int, tick: Callable[[], None], *, name: str) -> _Ticking:
        """Call ``tick`` every ``interval_ms`` in a new daemon thread until ``stop()``."""
        return _Ticking(interval_ms, tick, name)
