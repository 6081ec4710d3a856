"""The rule that keeps a busy thread group on one CPU while its work is interpreter-bound."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alsek.worker.affinity import choose_cpu
from alsek.worker.affinity_policy import CROWDED, PARALLEL_CORES, AffinityPolicy, Sample

CPUS = frozenset({0, 1, 2, 3})


def busy(cores: float = 1.0, **loads: float) -> Sample:
    """A busy window in which the process used ``cores`` and CPU ``cN`` was ``loads[cN]`` busy."""
    return Sample(False, cores, {int(k[1:]): v for k, v in loads.items()})


IDLE = Sample(True, 0.0, {})
FULL = {f"c{cpu}": 1.0 for cpu in CPUS}

samples = st.builds(
    Sample,
    idle=st.booleans(),
    cores_used=st.floats(0, 4),
    busy=st.dictionaries(st.sampled_from(sorted(CPUS)), st.floats(0, 1)),
    spawned=st.booleans(),
)


@given(st.integers(0, 50), st.lists(st.tuples(samples, st.floats(0, 5)), max_size=40))
def test_a_group_keeps_to_one_allowed_cpu_or_is_free(index: int, steps: list) -> None:
    policy, now, spawned_at = AffinityPolicy(index, CPUS), 0.0, float("-inf")
    for sample, elapsed in steps:
        now += elapsed
        spawned_at = now if sample.spawned else spawned_at
        cpu = policy.decide(sample, now)
        assert cpu is None or cpu in CPUS
        assert cpu == policy.pinned
        if sample.idle:
            assert cpu is None, "a group that waited for work is free at once"
        if now - spawned_at < policy.max_probe_s:
            assert cpu is None, "a group whose tasks start processes stays free"


@given(st.floats(PARALLEL_CORES, 8), st.integers(0, 50))
def test_work_outside_the_interpreter_lock_is_never_pinned(cores: float, index: int) -> None:
    policy = AffinityPolicy(index, CPUS)
    assert all(policy.decide(busy(cores), float(t)) is None for t in range(20))


@given(st.floats(0, PARALLEL_CORES, exclude_max=True), st.integers(0, 50))
def test_busy_interpreter_bound_work_keeps_to_the_groups_own_cpu(cores: float, index: int) -> None:
    policy = AffinityPolicy(index, CPUS)
    assert policy.decide(busy(cores), 0.0) == choose_cpu(index, set(CPUS))


def test_a_crowded_cpu_is_left_for_the_calmest_one() -> None:
    policy = AffinityPolicy(0, CPUS)
    assert policy.choose({0: 0.2 + CROWDED + 0.01, 1: 0.5, 2: 0.2, 3: 0.9}) == 2
    assert policy.choose({0: 0.2 + CROWDED - 0.01, 1: 0.5, 2: 0.2, 3: 0.9}) == 0


def test_a_full_core_is_looked_at_again_after_growing_waits() -> None:
    policy = AffinityPolicy(1, CPUS, first_probe_s=1.0, max_probe_s=4.0)
    assert policy.decide(busy(), 0.0) == 1
    back = 0.0
    for wait in (1.0, 2.0, 4.0, 4.0):  # doubling up to max_probe_s
        assert policy.decide(busy(**FULL), back + wait - 0.01) == 1, "not due yet"
        assert policy.decide(busy(**FULL), back + wait) is None, "let free for one window"
        back += wait + 0.1
        assert policy.decide(busy(1.0), back) == 1, "still interpreter-bound: back on its CPU"


def test_a_core_with_room_is_not_looked_at_again() -> None:
    policy = AffinityPolicy(0, CPUS, first_probe_s=1.0)
    policy.decide(busy(), 0.0)
    assert all(policy.decide(busy(c0=0.5), 1.0 + t) == 0 for t in range(10))


def test_work_that_turned_parallel_is_let_free_at_the_next_look() -> None:
    policy = AffinityPolicy(0, CPUS, first_probe_s=1.0)
    policy.decide(busy(), 0.0)
    assert policy.decide(busy(**FULL), 1.0) is None
    assert policy.decide(busy(2.0), 1.1) is None
    assert policy.decide(busy(2.0), 5.0) is None, "free while the work stays parallel"
    assert policy.decide(busy(1.0), 6.0) == 0
    assert policy.decide(busy(**FULL), 7.0) is None, "the wait starts over at first_probe_s"


def test_a_group_moves_off_a_core_that_something_else_filled() -> None:
    policy = AffinityPolicy(0, CPUS)
    policy.decide(busy(), 0.0)
    assert policy.decide(busy(**FULL), 1.0) is None
    assert policy.decide(busy(0.5, c0=1.0, c1=0.3, c2=0.6, c3=0.6), 1.1) == 1


def test_after_an_idle_spell_the_wait_starts_over() -> None:
    policy = AffinityPolicy(0, CPUS, first_probe_s=1.0)
    policy.decide(busy(), 0.0)
    policy.decide(busy(**FULL), 1.0)
    policy.decide(busy(), 1.1)  # the wait is 2 s now
    assert policy.decide(IDLE, 1.5) is None
    assert policy.decide(busy(), 1.6) == 0
    assert policy.decide(busy(**FULL), 2.7) is None, "1 s again, not 2 s"


def test_a_group_sharing_its_core_moves_to_a_calmer_one_at_most_once_a_probe_wait() -> None:
    policy = AffinityPolicy(0, CPUS, first_probe_s=1.0)
    assert policy.decide(busy(0.9, c0=0.95), 0.0) == 0
    hogged = busy(0.5, c0=1.0, c1=0.3, c2=0.6, c3=0.45)  # another process took half of CPU 0
    assert policy.decide(hogged, 0.1) == 1
    assert policy.decide(busy(0.5, c0=0.2, c1=0.85, c2=0.6, c3=0.45), 0.2) == 1, "not again yet"
    assert policy.decide(busy(0.5, c0=0.2, c1=0.85, c2=0.6, c3=0.45), 1.2) == 0


def test_a_group_stays_on_a_core_it_has_mostly_to_itself() -> None:
    policy = AffinityPolicy(0, CPUS)
    policy.decide(busy(0.9, c0=0.95), 0.0)
    assert policy.decide(busy(0.8, c0=1.0, c1=0.0), 0.1) == 0, "others took 0.2 < SHARED"
    assert policy.decide(busy(0.5, c0=1.0, c1=0.6, c2=0.7, c3=0.9), 5.0) is None, "probe"


def test_a_group_whose_tasks_start_processes_stays_free_for_a_while() -> None:
    policy = AffinityPolicy(0, CPUS, first_probe_s=1.0, max_probe_s=30.0)
    assert policy.decide(busy(), 0.0) == 0
    assert policy.decide(Sample(False, 0.5, {}, spawned=True), 1.0) is None
    assert policy.decide(busy(), 2.0) is None
    assert policy.decide(busy(), 30.9) is None
    assert policy.decide(busy(), 31.0) == 0, "max_probe_s after the last process was seen"
