"""The observer port: who hears what a worker's backend calls show (claims, lease renewals and
lapses, backend errors), for counting them (the worker's Prometheus metrics implement it).

A consumer or watchdog without an observer pays one ``is None`` check per call; with one, the
observer's method. Observers must be cheap and must not raise (callers log and ignore it if
they do).
"""

from __future__ import annotations

#: Operation kinds a backend error is counted under.
CLAIM, WAIT, SETTLE, STATUS, EXTEND, SUBSCRIBE, LISTEN = (
    "claim", "wait", "settle", "status", "extend", "subscribe", "listen",
)  # fmt: skip
#: Where a lapsed lease was noticed: by a heartbeat while the message ran, or when settling it.
RUNNING, SETTLING = "running", "settle"


class BackendObserver:
    """Hears what a worker's backend calls show; every method does nothing here (subclass and
    override what you count)."""

    def claimed(self, count: int) -> None:
        """A claim reply leased ``count`` messages (0: nothing was ready)."""

    def renewed(self, count: int) -> None:
        """A heartbeat renewed the leases of ``count`` running messages."""

    def lapsed(self, count: int, stage: str) -> None:
        """``count`` messages lost their lease, noticed at ``stage`` (:data:`RUNNING`: a heartbeat
        found it gone while the message ran; :data:`SETTLING`: its settlement was refused). One
        message can be counted at both stages."""

    def backend_error(self, operation: str, error: BaseException) -> None:
        """A backend call of kind ``operation`` (:data:`CLAIM`, :data:`SETTLE`, ...) failed."""
