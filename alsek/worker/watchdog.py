"""The watchdog of a worker process: heartbeats, timeouts and revocations in one loop.

One watchdog per worker process (a thread in a thread pool's process group; the main loop of a
process pool's supervisor). Every tick it renews the leases of every running message in one
batched ``extend`` call (each ``heartbeat_ms``), reports runs past their deadline, and listens on
the revocation channel (one subscription per process), so a busy task never delays any of it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from alsek.domain.model.errors import BackendError
from alsek.domain.model.naming import REVOCATION_CHANNEL
from alsek.ports.backend import Backend
from alsek.ports.keyvalue import MISSING, Subscription
from alsek.worker.leases import Running
from alsek.worker.lifecycle import StopSignal

log = logging.getLogger("alsek.worker")

RESUBSCRIBE_MS = 1_000


class WatchdogHooks(Protocol):
    """What the watchdog watches and how it reacts."""

    def running(self) -> Sequence[Running]:
        """The messages being run right now."""
        ...

    def on_timeout(self, running: Running) -> None:
        """``running`` is past its deadline (reported once per run)."""
        ...

    def on_revoke(self, uuid: str) -> None:
        """Message ``uuid`` was revoked with ``interrupt=True``."""
        ...

    def on_tick(self) -> None:
        """Called after every wake-up (housekeeping)."""
        ...


class Watchdog:
    """Keeps running messages leased and reports timeouts and revocations.

    Args:
        backend: where the leases live.
        hooks: what is running, and what to do about it.
        lease_ms: the lease each heartbeat grants.
        heartbeat_ms: how often leases are renewed.
        tick_ms: the longest the loop sleeps (bounds how late a timeout is noticed).
        revocations: whether to subscribe to the revocation channel.
    """

    def __init__(
        self,
        backend: Backend,
        hooks: WatchdogHooks,
        *,
        lease_ms: int,
        heartbeat_ms: int,
        tick_ms: int = 100,
        revocations: bool = True,
    ) -> None:
        self.backend = backend
        self.hooks = hooks
        self.lease_ms = lease_ms
        self.heartbeat_ms = heartbeat_ms
        self.tick_ms = tick_ms
        self.revocations = revocations
        self._subscription: Subscription | None = None
        self._subscribe_after = 0.0
        self._reported: set[tuple[Any, int]] = set()
        self._lost: set[tuple[Any, int]] = set()  # runs whose lost lease was logged
        self._next_beat = 0.0
        self._failing = False
        self._unsubscribed = False  # subscribing failed: said once, until it works again

    def run(self, stop: StopSignal) -> None:
        """Loop until ``stop`` is set; then close the subscription."""
        self._next_beat = time.monotonic() + self.heartbeat_ms / 1000
        try:
            while not stop.is_set():
                self.step(stop)
        finally:
            self.close()

    def step(self, stop: StopSignal) -> None:
        """One wake-up: wait (listening for revocations), then check deadlines and heartbeats."""
        self._listen(stop, self._wait_ms())
        self._check_deadlines()
        if time.monotonic() >= self._next_beat:
            self.heartbeat()
            self._next_beat = time.monotonic() + self.heartbeat_ms / 1000
        self.hooks.on_tick()

    def close(self) -> None:
        """Close the revocation subscription."""
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    def _wait_ms(self) -> int:
        until_beat = (self._next_beat - time.monotonic()) * 1000
        return max(0, int(min(self.tick_ms, until_beat)))

    def _listen(self, stop: StopSignal, timeout_ms: int) -> None:
        subscription = self._subscribed()
        if subscription is None:
            stop.wait(timeout_ms / 1000)
            return
        try:
            value = subscription.get(timeout_ms)
        except BackendError as error:
            log.warning("Revocation subscription lost (%s); resubscribing.", error)
            self.close()
            self._subscribe_after = time.monotonic() + RESUBSCRIBE_MS / 1000
            return
        if value is not MISSING:
            self._revoked(value)

    def _subscribed(self) -> Subscription | None:
        if not self.revocations or self._subscription is not None:
            return self._subscription
        if time.monotonic() < self._subscribe_after:
            return None
        try:
            self._subscription = self.backend.subscribe(REVOCATION_CHANNEL)
        except BackendError as error:
            level = logging.DEBUG if self._unsubscribed else logging.WARNING
            log.log(level, "Cannot subscribe to revocations (%s); retrying.", error)
            self._unsubscribed = True
            self._subscribe_after = time.monotonic() + RESUBSCRIBE_MS / 1000
            return None
        if self._unsubscribed:
            log.warning("Subscribed to revocations again.")
            self._unsubscribed = False
        return self._subscription

    def _revoked(self, value: Any) -> None:
        if not isinstance(value, dict) or not isinstance(value.get("uuid"), str):
            log.warning("Ignored a malformed revocation: %r", value)
            return
        if value.get("interrupt"):
            self.hooks.on_revoke(value["uuid"])

    def _check_deadlines(self) -> None:
        now = self.backend.clock.now_ms()
        live = set()
        for running in self.hooks.running():
            marker = (running.key, running.run)
            live.add(marker)
            if running.deadline_ms <= now and marker not in self._reported:
                self._reported.add(marker)
                self.hooks.on_timeout(running)
        self._reported &= live

    def heartbeat(self) -> None:
        """Renew the leases of every running message in one call."""
        runs = self.hooks.running()
        if not runs:
            return
        try:
            lost = self.backend.extend([r.message for r in runs], lease_ms=self.lease_ms)
        except BackendError as error:
            if not self._failing:
                log.warning("Heartbeat failed (%s); leases may lapse.", error)
            self._failing = True
            return
        if self._failing:
            log.warning("Heartbeat works again.")
        self._failing = False
        live = {(r.key, r.run) for r in runs}
        self._lost &= live
        if lost:  # a run that ended meanwhile was acked, not lost
            lost_ids = {id(m) for m in lost}
            still = {id(r) for r in self.hooks.running()}
            for run in runs:
                marker = (run.key, run.run)
                if (
                    id(run.message) in lost_ids and id(run) in still and not run.settling
                    and marker not in self._lost
                ):  # fmt: skip
                    self._lost.add(marker)
                    log.warning("Lease of running %s was lost; it may run again elsewhere.",
                                run.message.summary)  # fmt: skip
