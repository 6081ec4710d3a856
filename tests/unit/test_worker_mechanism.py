"""Pools run only the tasks of their own mechanism, and then claim only their own tasks."""

from __future__ import annotations

import logging

import pytest

from alsek import Broker, task
from alsek.adapters.memory import InMemoryBackend
from alsek.domain.model.errors import NoTasksFoundError
from alsek.worker.process.pool import ProcessWorkerPool
from alsek.worker.thread.pool import ThreadWorkerPool


@pytest.fixture
def broker() -> Broker:
    return Broker(InMemoryBackend())


def test_each_pool_keeps_its_mechanism_and_claims_only_those_tasks(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    @task(broker, mechanism="thread")
    def in_thread() -> None: ...

    @task(broker)  # the tour's default mechanism: "process"
    def in_process() -> None: ...

    with caplog.at_level(logging.INFO, logger="alsek.worker"):
        threads = ThreadWorkerPool([in_thread, in_process], n_processes=1)
    assert set(threads.tasks) == {"in_thread"}
    assert threads.claim_tasks == {"in_thread"}
    assert threads.spec().claim_tasks == ("in_thread",)
    assert "leaves out" in caplog.text and "in_process" in caplog.text
    processes = ProcessWorkerPool([in_thread, in_process], n_processes=1)
    assert set(processes.tasks) == {"in_process"} and processes.claim_tasks == {"in_process"}


def test_a_pool_of_only_its_own_tasks_claims_every_task(broker: Broker) -> None:
    @task(broker, mechanism="thread")
    def in_thread() -> None: ...

    pool = ThreadWorkerPool([in_thread], n_processes=1)
    assert pool.claim_tasks is None and pool.spec().claim_tasks == ()  # unknown tasks fail
    specific = ThreadWorkerPool([in_thread], n_processes=1, task_specific_mode=True)
    assert specific.claim_tasks == {"in_thread"}


def test_no_task_of_the_mechanism_is_a_clear_error(broker: Broker) -> None:
    @task(broker)
    def in_process() -> None: ...

    with pytest.raises(NoTasksFoundError, match="mechanism='thread'"):
        ThreadWorkerPool([in_process], n_processes=1)
    with pytest.raises(NoTasksFoundError):
        ProcessWorkerPool([], n_processes=1)
