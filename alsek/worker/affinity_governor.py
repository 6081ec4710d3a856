"""The thread that applies :mod:`alsek.worker.affinity_policy` to a thread group's process (or
to a process pool's process reused without limit: a group of one task thread and its feeder).

While the group is busy it wakes once a window (``window_ms``), measures what the process and
each CPU did, and keeps the process on the CPU the policy names, or frees it. While the group
waits for work it frees the process and sleeps until work comes: an idle worker costs nothing
and a submission finds it free to run on any core.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import attrs

from alsek.worker.affinity import (
    children_cpu_time,
    cpu_ticks,
    descendants,
    free_descendants,
    keep_process_on,
)
from alsek.worker.affinity_policy import AffinityPolicy, Sample

if TYPE_CHECKING:
    from alsek.worker.feeder import Feeder

log = logging.getLogger("alsek.worker")


class Activity(Protocol):
    """What the governor watches: a thread group's feeder."""

    @property
    def parked(self) -> bool:
        """Whether the group waits for work now."""

    @property
    def parks(self) -> int:
        """How many times the group began to wait for work so far."""


@attrs.define
class CpuSystem:
    """Where the governor reads and sets CPUs (Linux by default; fakes in tests).

    Attributes:
        process_time: the process's CPU time so far (s, every thread).
        ticks: each CPU's (busy, total) time so far (see :func:`cpu_ticks`).
        keep_on: keeps the process's threads on the given CPUs; False if it could not.
        children: the processes this one started that still run.
        children_time: CPU time (s) used so far by its children that were waited for.
        free_children: ``(cpu, cpus)``: lets descendants kept on ``cpu`` run on ``cpus``.
    """

    process_time: Callable[[], float] = time.process_time
    ticks: Callable[[], dict[int, tuple[int, int]]] = cpu_ticks
    keep_on: Callable[[set[int]], bool] = keep_process_on
    children: Callable[[], set[int]] = descendants
    children_time: Callable[[], float] = children_cpu_time
    free_children: Callable[[int, set[int]], None] = free_descendants


class AffinityGovernor:
    """Keeps a thread group's process on one CPU while its work is interpreter-bound.

    Args:
        activity: the group's feeder.
        index: the group's number in its pool (groups prefer different CPUs).
        allowed: the CPUs the process may use (default: those it may use now).
        window_ms: how long each measurement lasts (ms).
        first_window_ms: how long the first one lasts after the group starts or was idle (ms):
            short, so that a backlog is soon drained on one core.
        system: where CPUs are read and set.
    """

    def __init__(
        self,
        activity: Activity,
        index: int,
        *,
        allowed: set[int] | None = None,
        window_ms: int = 100,
        first_window_ms: int = 20,
        system: CpuSystem | None = None,
    ) -> None:
        self.activity = activity
        self.allowed = set(os.sched_getaffinity(0) if allowed is None else allowed)
        self.policy = AffinityPolicy(index, frozenset(self.allowed))
        self.window_s = window_ms / 1000
        self.first_window_s = min(first_window_ms, window_ms) / 1000
        self.system = system or CpuSystem()
        self.samples = 0  # windows measured so far (for tests and logs)
        self._applied: int | None = None
        self._work = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="alsek-affinity", daemon=True)

    @classmethod
    def for_group(cls, feeder: Feeder, index: int | None) -> AffinityGovernor | None:
        """A governor for the group of number ``index`` fed by ``feeder`` (told to wake it when
        work comes), or None where there is nothing to govern: no ``index``, not Linux, or a
        single allowed CPU."""
        if index is None or not hasattr(os, "sched_setaffinity"):
            return None
        allowed = os.sched_getaffinity(0)
        if len(allowed) < 2:
            return None
        governor = cls(feeder, index, allowed=allowed)
        feeder.on_unpark = governor.work_came
        return governor

    def start(self) -> None:
        """Start the governor's thread."""
        self._thread.start()

    def work_came(self) -> None:
        """Called when the group stops waiting for work: measure again."""
        self._work.set()

    def stop(self, timeout_s: float = 1.0) -> None:
        """Stop the thread and free the process (waits up to ``timeout_s`` for the thread)."""
        self._stop.set()
        self._work.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._apply(None)

    def _main(self) -> None:
        window = self.first_window_s
        try:
            while not self._stop.is_set():
                if self.activity.parked:
                    self._apply(self.policy.decide(Sample(True, 0.0, {}), time.monotonic()))
                    self._await_work()
                    window = self.first_window_s
                    continue
                self._apply(self.policy.decide(self._measure(window), time.monotonic()))
                window = self.window_s
        except Exception:  # never leave the process pinned by a failure
            log.exception("The CPU affinity governor failed; the process runs on every CPU.")
            self._apply(None)

    def _await_work(self) -> None:
        self._work.clear()
        if self.activity.parked and not self._stop.is_set():
            self._work.wait()

    def _measure(self, window_s: float) -> Sample:
        """One window of the group's work, ``window_s`` long."""
        system = self.system
        parks, cpu, ticks = self.activity.parks, system.process_time(), system.ticks()
        reaped, start = system.children_time(), time.monotonic()
        self._stop.wait(window_s)
        wall = max(time.monotonic() - start, 1e-6)
        used = (system.process_time() - cpu) / wall
        idle = self.activity.parks != parks or self.activity.parked
        spawned = system.children_time() > reaped or bool(system.children())
        self.samples += 1
        return Sample(idle, used, _busy(ticks, system.ticks(), self.allowed), spawned)

    def _apply(self, cpu: int | None) -> None:
        if cpu == self._applied:
            return
        cpus = self.allowed if cpu is None else {cpu}
        if self.system.keep_on(cpus):
            log.debug("Process %s now runs on CPUs %s.", os.getpid(), sorted(cpus))
        if self._applied is not None:  # processes started meanwhile inherited that one CPU
            self.system.free_children(self._applied, self.allowed)
        self._applied = cpu


def _busy(
    before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]], allowed: set[int]
) -> dict[int, float]:
    """Each allowed CPU's busy share between two :func:`cpu_ticks` readings (a CPU left out:
    not known, which the policy takes as full)."""
    shares: dict[int, float] = {}
    for cpu in allowed & before.keys() & after.keys():
        (busy0, total0), (busy1, total1) = before[cpu], after[cpu]
        if total1 > total0:
            shares[cpu] = (busy1 - busy0) / (total1 - total0)
    return shares
