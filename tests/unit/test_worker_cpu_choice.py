"""--pin-cpus: which CPU each child takes, and how the setting reaches the pool."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsek.app.settings import WorkerSettings
from alsek.domain.model.errors import ValidationError
from alsek.worker.affinity import choose_cpu, pin_to_cpu


@given(st.sets(st.integers(0, 255), min_size=1), st.integers(0, 10_000))
def test_children_take_the_allowed_cpus_in_turn(allowed: set[int], index: int) -> None:
    cpus = sorted(allowed)
    assert choose_cpu(index, allowed) == cpus[index % len(cpus)]
    run = [choose_cpu(i, allowed) for i in range(len(cpus))]
    assert sorted(run) == cpus, "as many children as CPUs: one child on each CPU"


def test_no_allowed_cpu_is_an_error() -> None:
    with pytest.raises(ValidationError, match="no CPU"):
        choose_cpu(0, set())


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_pinning_keeps_the_process_on_one_cpu() -> None:
    before = os.sched_getaffinity(0)
    try:
        cpu = pin_to_cpu(1)
        assert os.sched_getaffinity(0) == {cpu}
        assert cpu == choose_cpu(1, before)
    finally:
        os.sched_setaffinity(0, before)


def test_the_setting_is_automatic_unless_asked_for() -> None:
    assert WorkerSettings().pin_cpus is None
    assert WorkerSettings.from_env({"ALSEK_PIN_CPUS": "1"}).pin_cpus is True
    assert WorkerSettings.from_env({"ALSEK_PIN_CPUS": "off"}).pin_cpus is False
    assert WorkerSettings.from_env({"ALSEK_PIN_CPUS": "auto"}).pin_cpus is None
    assert WorkerSettings.from_env({"ALSEK_PIN_CPUS": "1"}, pin_cpus=False).pin_cpus is False


def test_a_setting_that_is_neither_on_off_nor_auto_is_named() -> None:
    with pytest.raises(ValidationError, match="pin_cpus must be one of .*'sometimes'"):
        WorkerSettings.from_env({"ALSEK_PIN_CPUS": "sometimes"})
