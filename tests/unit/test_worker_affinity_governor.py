"""The affinity governor's thread, against a fake feeder and fake CPUs (no Redis, no pinning)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest

from alsek.worker.affinity_governor import AffinityGovernor, CpuSystem
from tests.unit.waiting import wait_until

ALL = {0, 1}


class FakeFeeder:
    """A feeder that is busy or parked as the test says."""

    def __init__(self) -> None:
        self.parked = False
        self.parks = 0

    def park(self) -> None:
        self.parks += 1
        self.parked = True


class FakeCpus:
    """A process that uses ``cores`` of CPU per second of wall time; records what it is kept on."""

    def __init__(self, cores: float) -> None:
        self.cores = cores
        self.kept_on: list[set[int]] = []
        self.children: set[int] = set()
        self.freed: list[tuple[int, set[int]]] = []
        self.lock = threading.Lock()

    def process_time(self) -> float:
        return time.monotonic() * self.cores

    def ticks(self) -> dict[int, tuple[int, int]]:
        return {}  # not known: the pinned core counts as full

    def keep_on(self, cpus: set[int]) -> bool:
        with self.lock:
            self.kept_on.append(set(cpus))
        return True

    def free_children(self, cpu: int, cpus: set[int]) -> None:
        with self.lock:
            self.freed.append((cpu, set(cpus)))

    def last(self) -> set[int] | None:
        with self.lock:
            return self.kept_on[-1] if self.kept_on else None


def governor(cores: float, feeder: FakeFeeder) -> tuple[AffinityGovernor, FakeCpus]:
    cpus = FakeCpus(cores)
    system = CpuSystem(
        process_time=cpus.process_time, ticks=cpus.ticks, keep_on=cpus.keep_on,
        children=lambda: set(cpus.children), children_time=lambda: 0.0,
        free_children=cpus.free_children,
    )  # fmt: skip
    return AffinityGovernor(feeder, 1, allowed=ALL, window_ms=5, system=system), cpus


@contextlib.contextmanager
def running(gov: AffinityGovernor) -> Iterator[AffinityGovernor]:
    """Run ``gov``'s thread for the block, then stop it."""
    gov.start()
    try:
        yield gov
    finally:
        gov.stop()


def test_a_busy_interpreter_bound_group_keeps_to_one_cpu_and_is_freed_when_idle() -> None:
    feeder = FakeFeeder()
    gov, cpus = governor(1.0, feeder)
    with running(gov):
        assert wait_until(lambda: cpus.last() == {1}), "the group kept on its own CPU"
        feeder.park()
        assert wait_until(lambda: cpus.last() == ALL), "the idle group freed"
        measured = gov.samples
        time.sleep(0.05)  # ten windows' time for an idle governor to measure, which it must not
        assert gov.samples == measured, "an idle group's governor sleeps until work comes"
        feeder.parked = False
        gov.work_came()
        assert wait_until(lambda: cpus.last() == {1}), "kept on one CPU again"
    assert cpus.last() == ALL, "stopping frees the process"


def test_a_group_running_code_outside_the_lock_is_never_kept_to_one_cpu() -> None:
    feeder = FakeFeeder()
    gov, cpus = governor(1.9, feeder)
    with running(gov):
        assert wait_until(lambda: gov.samples >= 20), "20 windows measured"
    assert {1} not in cpus.kept_on


def test_a_governor_that_fails_frees_the_process(caplog: pytest.LogCaptureFixture) -> None:
    feeder = FakeFeeder()
    gov, cpus = governor(1.0, feeder)
    proc_gone = threading.Event()

    def ticks() -> dict[int, tuple[int, int]]:
        if proc_gone.is_set():
            raise RuntimeError("/proc went away")
        return {}

    gov.system.ticks = ticks
    with running(gov):
        assert wait_until(lambda: cpus.last() == {1}), "the group kept on its own CPU"
        proc_gone.set()
        assert wait_until(lambda: not gov._thread.is_alive()), "the governor's thread ended"
    assert cpus.last() == ALL
    assert "governor failed" in caplog.text


def test_processes_started_by_tasks_free_the_group_and_are_freed_with_it() -> None:
    feeder = FakeFeeder()
    gov, cpus = governor(1.0, feeder)
    with running(gov):
        assert wait_until(lambda: cpus.last() == {1}), "the group kept on its own CPU"
        cpus.children = {4242}  # a task started a process, which inherited CPU 1
        assert wait_until(lambda: cpus.last() == ALL), "the group freed"
        assert wait_until(lambda: cpus.freed == [(1, ALL)]), "its processes freed with it"
        cpus.children = set()
        measured = gov.samples
        assert wait_until(lambda: gov.samples >= measured + 10), "ten more windows"
        assert cpus.last() == ALL, "not kept on one CPU again soon after"
