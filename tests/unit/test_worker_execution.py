"""Execution machinery: interrupting threads safely, shared-memory slots, the stop signal, worker
settings."""

from __future__ import annotations

import os
import threading
import time
from signal import SIGTERM

import pytest

from alsek.app.settings import Settings, WorkerSettings
from alsek.domain.model.errors import ValidationError
from alsek.domain.model.outcome import Outcome
from alsek.worker.lifecycle import StopSignal, install_stop_handlers, process_context
from alsek.worker.thread.interrupt import ThreadInterrupter
from tests.unit.waiting import WAIT_S


def _interrupt_when_running(
    interrupter: ThreadInterrupter, run: int, started: threading.Event
) -> None:
    assert started.wait(5)
    assert interrupter.interrupt(run, TimeoutError, "too slow")
    assert not interrupter.interrupt(run, TimeoutError, "again"), "one interrupt per run"


def test_an_interrupt_lands_in_the_running_work_with_its_reason() -> None:
    interrupter = ThreadInterrupter()
    started = threading.Event()

    def spin() -> Outcome:
        started.set()
        try:
            while True:
                pass
        except TimeoutError as error:
            return Outcome.failure(error)

    helper = threading.Thread(target=_interrupt_when_running, args=(interrupter, 1, started))
    helper.start()
    outcome = interrupter.execute(1, spin)
    helper.join(5)
    assert outcome is not None and isinstance(outcome.error, TimeoutError)
    assert str(outcome.error) == "too slow"
    assert interrupter.interrupted(1)


def test_no_interrupt_reaches_a_finished_run_or_the_next_one() -> None:
    interrupter = ThreadInterrupter()
    assert interrupter.execute(1, lambda: Outcome(result=1)) == Outcome(result=1)
    assert not interrupter.interrupt(1, TimeoutError, "late")
    assert not interrupter.interrupt(2, TimeoutError, "not started")
    assert interrupter.execute(2, lambda: Outcome(result=2)) == Outcome(result=2)


def test_an_interrupt_outside_the_tasks_own_handlers_still_becomes_the_outcome() -> None:
    interrupter = ThreadInterrupter()

    def interrupted_after_its_handlers() -> Outcome:
        # Sent from this very thread: it lands at the next call, outside any handler here.
        assert interrupter.interrupt(1, TimeoutError, "late")
        return Outcome(result="done")

    outcome = interrupter.execute(1, interrupted_after_its_handlers)
    assert outcome is not None and isinstance(outcome.error, TimeoutError)
    assert str(outcome.error) == "late"
    time.sleep(0.01)  # bytecodes run here: nothing may be left pending


def test_an_abandoned_run_has_no_outcome() -> None:
    interrupter = ThreadInterrupter()

    def abandon_self() -> Outcome:
        assert interrupter.abandon(1)
        return Outcome(result=1)

    assert interrupter.execute(1, abandon_self) is None
    assert not interrupter.abandon(1), "a finished run cannot be abandoned"


def test_a_stop_signal_wakes_its_waiters_and_stays_set() -> None:
    signal = StopSignal()
    assert not signal.is_set() and not signal.wait(0.01)
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(signal.wait()))
    waiter.start()
    signal.set()
    waiter.join(WAIT_S)
    assert woke == [True]
    assert signal.is_set() and signal.wait(0)


def test_a_stop_signal_never_blocks_its_setter_on_the_waiters_lock() -> None:
    signal = StopSignal(poll_s=0.01)
    with signal._cond:  # what a signal handler meets when it interrupts a thread inside wait()
        setter = threading.Thread(target=signal.set)
        setter.start()
        setter.join(WAIT_S)
        assert not setter.is_alive(), "set() waited for a lock"
    assert signal.is_set() and signal.wait(WAIT_S)


def test_a_stop_signal_set_by_sigterm_ends_the_main_threads_wait() -> None:
    signal = StopSignal()
    restore = install_stop_handlers(signal.set)
    try:
        threading.Timer(0.05, os.kill, args=(os.getpid(), SIGTERM)).start()
        assert signal.wait(WAIT_S)
    finally:
        restore()


def test_a_stop_signal_with_a_deadline_sets_itself() -> None:
    assert StopSignal.after(0).is_set()
    later = StopSignal.after(3_600)
    assert not later.is_set() and not later.wait(0.01)
    later.set()
    assert later.is_set()


def test_unknown_start_method() -> None:
    with pytest.raises(ValidationError):
        process_context("teleport")


def test_worker_settings_precedence_and_validation() -> None:
    env = {"ALSEK_LEASE_MS": "8000", "ALSEK_QUEUES": "a, b", "ALSEK_N_THREADS": "3",
           "ALSEK_COMPLETE_ONLY_ON_THREAD_EXIT": "true"}  # fmt: skip
    settings = WorkerSettings.from_env(env, n_threads=4, target="m", n_processes=None)
    assert settings.lease_ms == 8_000 and settings.queues == ("a", "b")
    assert settings.n_threads == 4 and settings.n_processes is None
    assert settings.complete_only_on_thread_exit is True
    assert settings.consumer_backoff.get(1) == 1_000
    with pytest.raises(ValidationError):
        WorkerSettings.from_env({"ALSEK_LEASE_MS": "soon"})
    with pytest.raises(ValidationError):
        WorkerSettings.from_env({}, n_threads=0)
    with pytest.raises(ValidationError):
        WorkerSettings.from_env({}, pool="fibers")


def test_worker_settings_carry_the_defaults_settings() -> None:
    env = {"ALSEK_REDIS_URL": "redis://from-env:1/0", "ALSEK_NAMESPACE": ""}
    assert WorkerSettings.from_env(env).defaults == Settings(redis_url="redis://from-env:1/0")
    given = WorkerSettings.from_env(env, redis_url="redis://given:2/0")
    assert given.defaults == Settings(redis_url="redis://given:2/0", namespace="alsek")
    assert WorkerSettings.from_env({}).defaults == Settings()


def test_restarts_back_off_only_for_children_that_die_young() -> None:
    from alsek.worker.lifecycle import Restarts

    restarts = Restarts()
    assert restarts.due()
    restarts.died(lived_s=60.0)
    assert restarts.due(), "a child that lived long is replaced at once"
    restarts.died(lived_s=0.01)
    restarts.died(lived_s=0.01)
    assert not restarts.due(), "one that keeps dying young waits"
    assert restarts.failures == 2
    restarts.died(lived_s=5.0)
    assert restarts.due() and restarts.failures == 0
