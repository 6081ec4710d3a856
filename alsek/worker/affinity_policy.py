"""When a busy thread group keeps to one CPU (the default, ``pin_cpus`` unset): the rule. A
process pool's process reused without limit counts as a group (its task thread and its feeder).

Threads of one process take turns on one interpreter lock; spread over several cores, every
hand-off wakes a thread on another core, which costs more than the work handed off when tasks
are short (see :mod:`alsek.worker.affinity`). On one core the hand-offs are cheap, but threads
that run C code outside the lock at once (NumPy, compression, hashing) would have to share it.

The rule tells them apart by what the process uses when it may use every core. Interpreter-bound
work cannot use much more than one core, whatever the threads do; work outside the lock can.
So a group that is busy (it did not wait for work during the last window) and used less than
``PARALLEL_CORES`` keeps to one CPU; a group that waits for work is let free again at once (an
idle worker woken by a submission must not wait for its one core). While kept to a core that
is full, the group is let free for one window now and then (after 1 s, then twice as long each
time the window confirms the choice, up to ``max_probe_s``), to see whether its work has
changed. A group that shares its core with other work (other processes took ``SHARED`` of it or
more) moves to a calmer core, at most once per ``first_probe_s``.

Processes that tasks start inherit the CPUs of the thread that starts them; a program run on
eight threads (an encoder, a compiler) must not find itself on one core. So a group whose tasks
start processes (seen running, or using CPU once waited for) is let free at once, and stays free
until ``max_probe_s`` after the last one was seen.
"""

from __future__ import annotations

import attrs

from alsek.worker.affinity import choose_cpu

#: Cores used while free above which a group's work runs outside the interpreter lock.
PARALLEL_CORES = 1.35
#: Busy share of the group's core (every process on it) from which the core counts as full.
SATURATED = 0.9
#: How much busier than the least busy CPU a group's own CPU may be and still be taken.
CROWDED = 0.3
#: Share of a group's core taken by other work from which the group looks for a calmer core.
SHARED = 0.3


@attrs.frozen
class Sample:
    """What a group did during one window.

    Attributes:
        idle: whether the group waited for work at some point in the window.
        cores_used: the process's CPU time over the window's wall time (2.0: two cores' worth).
        busy: each CPU the group may use, with its busy share over the window (0.0 to 1.0,
            every process on it counted).
        spawned: whether the group's tasks started processes (running now, or that used CPU
            during the window).
    """

    idle: bool
    cores_used: float
    busy: dict[int, float]
    spawned: bool = False


@attrs.define
class AffinityPolicy:
    """Decides, one window at a time, whether a thread group keeps to one CPU, and which.

    Args:
        index: the group's number in its pool: groups prefer different CPUs, in turn.
        allowed: the CPUs the group may use (at least two; with one there is nothing to decide).
        first_probe_s: how long a group stays kept to a full core before it is first let free
            for a window to look again (s).
        max_probe_s: the longest such wait, after repeated looks confirmed the choice (s).

    Attributes:
        pinned: the CPU the group keeps to, or None while it may use all of ``allowed``.
    """

    index: int
    allowed: frozenset[int]
    first_probe_s: float = 1.0
    max_probe_s: float = 30.0
    pinned: int | None = None
    _probe_s: float = attrs.field(init=False, default=0.0)
    _probe_at: float = attrs.field(init=False, default=0.0)
    _probing: bool = attrs.field(init=False, default=False)
    _moved_at: float = attrs.field(init=False, default=float("-inf"))
    _free_until: float = attrs.field(init=False, default=float("-inf"))

    def __attrs_post_init__(self) -> None:
        self._probe_s = self.first_probe_s

    def decide(self, sample: Sample, now: float) -> int | None:
        """The CPU to keep to from now (None: all of ``allowed``), after ``sample``; ``now``
        is a monotonic time in seconds."""
        if sample.spawned:
            self._free_until = now + self.max_probe_s
        if sample.idle or now < self._free_until:
            self.pinned, self._probing, self._probe_s = None, False, self.first_probe_s
        elif self.pinned is None:
            self._after_free_window(sample, now)
        elif now >= self._probe_at and sample.busy.get(self.pinned, 1.0) >= SATURATED:
            self.pinned, self._probing = None, True
        elif now - self._moved_at >= self.first_probe_s:
            self._move_if_shared(sample, now)
        return self.pinned

    def _move_if_shared(self, sample: Sample, now: float) -> None:
        """Move to the calmest other core if other work took ``SHARED`` of the group's core
        and that core was less busy than the group's was with other work."""
        if self.pinned not in sample.busy:
            return
        others = sample.busy[self.pinned] - sample.cores_used
        loads = {c: b for c, b in sample.busy.items() if c != self.pinned and c in self.allowed}
        if others >= SHARED and loads:
            calmest = min(sorted(loads), key=loads.__getitem__)
            if loads[calmest] < others:
                self.pinned, self._moved_at = calmest, now

    def _after_free_window(self, sample: Sample, now: float) -> None:
        if sample.cores_used >= PARALLEL_CORES:
            self._probing, self._probe_s = False, self.first_probe_s
            return
        if self._probing:
            self._probe_s = min(self._probe_s * 2, self.max_probe_s)
        self._probing = False
        self.pinned = self.choose(sample.busy)
        self._probe_at = now + self._probe_s

    def choose(self, busy: dict[int, float]) -> int:
        """The group's own CPU in turn (:func:`choose_cpu`), unless it was ``CROWDED`` busier
        than the least busy allowed CPU: then that one (CPUs left out of ``busy`` are not
        known, and not chosen for being calm)."""
        own = choose_cpu(self.index, set(self.allowed))
        loads = {cpu: busy[cpu] for cpu in sorted(self.allowed) if cpu in busy}
        if own not in loads:
            return own
        calmest = min(loads, key=loads.__getitem__)
        return calmest if loads[own] - loads[calmest] > CROWDED else own
