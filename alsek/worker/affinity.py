"""Pinning a pool's child process to one CPU (``--pin-cpus``).

Threads of one Python process take turns on one interpreter lock. When they run on several
cores, every hand-off of that lock wakes a thread on another core, and on virtual machines and
busy hosts that costs far more than the work handed off: measured on a 2-core VM, 8 threads of
one process doing Redis ``INCR`` calls made 10,400 calls/s spread over both cores and 30,000/s
kept on one. A pinned process gives that up for tasks that run C code outside the lock on
several threads at once (NumPy, compression), which then share one core. Hence ``--pin-cpus``
pins for good only when asked; by default a thread group keeps to one core only while its work
is interpreter-bound (:mod:`alsek.worker.affinity_policy`, :mod:`alsek.worker.affinity_governor`).
"""

from __future__ import annotations

import logging
import os

from alsek.domain.model.errors import ValidationError

log = logging.getLogger("alsek.worker")


def choose_cpu(index: int, allowed: set[int]) -> int:
    """The CPU for child ``index``: the ``allowed`` CPUs in turn, so children spread out.

    Raises:
        ValidationError: if ``allowed`` is empty.
    """
    if not allowed:
        raise ValidationError("no CPU is allowed to run the child on")
    cpus = sorted(allowed)
    return cpus[index % len(cpus)]


def pin_to_cpu(index: int) -> int | None:
    """Keep the calling thread, and so every thread it starts afterwards, on one CPU chosen by
    :func:`choose_cpu` among the CPUs it may use now. Call it first thing in a child's main
    thread, before the child starts any thread: the whole process is then pinned.

    Returns:
        The CPU, or None where the system cannot pin (not Linux, or not allowed), which is
        logged.
    """
    if not hasattr(os, "sched_setaffinity"):
        log.warning("This system cannot pin processes to CPUs; --pin-cpus is ignored.")
        return None
    cpu = choose_cpu(index, set(os.sched_getaffinity(0)))
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as error:  # a container or policy that forbids it
        log.warning("Could not pin child %s to CPU %s (%s); it runs unpinned.", index, cpu, error)
        return None
    log.debug("Child %s (pid %s) pinned to CPU %s.", index, os.getpid(), cpu)
    return cpu


def keep_process_on(cpus: set[int]) -> bool:
    """Let every thread of this process run only on ``cpus`` (threads started afterwards
    inherit their starter's CPUs). Returns False where the system does not allow it, or a
    thread's CPUs could not be set (a thread that ended meanwhile is no failure)."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    done: bool = True
    seen: set[str] = set()
    for _ in range(3):  # again for threads started meanwhile (they may have the old CPUs)
        try:
            threads = set(os.listdir("/proc/self/task")) - seen
        except OSError:
            return False
        for tid in threads:
            try:
                os.sched_setaffinity(int(tid), cpus)
            except ProcessLookupError:
                continue
            except OSError as error:
                log.debug("Could not keep thread %s on CPUs %s (%s).", tid, sorted(cpus), error)
                done = False
        if not threads:
            break
        seen |= threads
    return done


def cpu_ticks(path: str = "/proc/stat") -> dict[int, tuple[int, int]]:
    """Each CPU's (busy, total) time so far, in clock ticks, from ``path`` (Linux); empty where
    it cannot be read. Idle and I/O-wait time count as not busy."""
    ticks: dict[int, tuple[int, int]] = {}
    try:
        with open(path, encoding="ascii") as stat:
            lines = stat.readlines()
    except OSError:
        return ticks
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        values = [int(f) for f in fields[:8]]
        total = sum(values)
        ticks[int(name[3:])] = (total - values[3] - values[4], total)
    return ticks


def descendants(pid: int | str = "self", depth: int = 8) -> set[int]:
    """The processes that process ``pid`` started, theirs, and so on ``depth`` levels down,
    that still run (Linux; empty where the system does not tell)."""
    found: set[int] = set()
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as children:
                found.update(int(child) for child in children.read().split())
        except OSError:
            continue
    if depth > 1:
        for child in list(found):
            found |= descendants(child, depth - 1)
    return found


def free_descendants(pinned: int, cpus: set[int]) -> None:
    """Let this process's descendants that run on CPU ``pinned`` alone (they inherited it)
    run on ``cpus`` again; the others are left as they are."""
    for pid in descendants():
        try:
            if os.sched_getaffinity(pid) == {pinned}:
                os.sched_setaffinity(pid, cpus)
        except OSError:  # ended meanwhile, or not ours to change
            continue


def children_cpu_time() -> float:
    """CPU time (s) used so far by this process's child processes that were waited for."""
    times = os.times()
    return times.children_user + times.children_system
