"""The process pool's zygote, driven through its link: fresh processes, kills, reuse."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.domain.services.processing import Verdict
from alsek.domain.services.result_store import ResultStore
from alsek.worker.lifecycle import StopSignal
from alsek.worker.process.link import Reply, ZygoteLink
from alsek.worker.process.runner import decode_settlement
from alsek.worker.spec import WorkerSpec
from tests.unit.waiting import WAIT_S

backend = InMemoryBackend()
broker = Broker(backend)
STATE: list[int] = []  # a global each run appends to


@task(broker, queue="z", result_store=ResultStore(backend))
def pid_and_count() -> list[int]:
    STATE.append(1)
    return [os.getpid(), len(STATE)]


@task(broker, queue="z", max_retries=0)
def forever(marker: str) -> None:
    Path(marker).touch()
    while True:
        time.sleep(0.01)


def _link(max_tasks_per_child: int) -> Iterator[ZygoteLink]:
    spec = WorkerSpec.for_tasks(
        [pid_and_count, forever], queues=("z",), lease_ms=1_000, heartbeat_ms=200,
        backoff=pid_and_count.backoff, max_tasks_per_child=max_tasks_per_child, zygote_spares=1,
    )  # fmt: skip
    link = ZygoteLink(multiprocessing.get_context("fork"), spec, StopSignal())
    link.start()
    try:
        yield link
    finally:
        link.close()


@pytest.fixture
def fresh() -> Iterator[ZygoteLink]:
    yield from _link(1)


@pytest.fixture
def reused() -> Iterator[ZygoteLink]:
    yield from _link(3)


def _returned(reply: Reply) -> Any:
    assert reply.payload is not None, reply
    settlement = decode_settlement(reply.payload)
    assert settlement.verdict is Verdict.ACK
    [result] = [
        w.value["result"] for w in settlement.effects.writes if w.name.startswith("results:")
    ]
    return tuple(result)


def _probe(link: ZygoteLink, slot: int, run: int) -> tuple[int, int]:
    return _returned(link.run(slot, run, pid_and_count.generate(submit=False)))


def test_every_run_gets_a_fresh_process(fresh: ZygoteLink) -> None:
    runs = [_probe(fresh, slot=run % 2, run=run) for run in range(1, 7)]
    assert {count for _, count in runs} == {1}, "no run saw another run's global"
    assert len({pid for pid, _ in runs}) == 6
    assert os.getpid() not in {pid for pid, _ in runs}


def test_a_kill_ends_only_its_run(fresh: ZygoteLink, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    replies: list[Reply] = []
    message: Message = forever.generate(kwargs={"marker": str(marker)}, submit=False)
    waiter = threading.Thread(target=lambda: replies.append(fresh.run(1, 3, message)))
    waiter.start()
    deadline = time.monotonic() + WAIT_S
    while not marker.exists():
        assert time.monotonic() < deadline, "the task did not start"
        time.sleep(0.01)
    fresh.kill(1, 2)  # another run: nothing happens
    fresh.kill(1, 3)
    waiter.join(WAIT_S)
    [reply] = replies
    assert reply.payload is None and reply.exit_code == -9 and not reply.lost
    assert _probe(fresh, slot=1, run=4)[1] == 1  # the slot goes on with a fresh process


def test_max_tasks_per_child_reuses_a_process(reused: ZygoteLink) -> None:
    runs = [_probe(reused, slot=0, run=run) for run in range(1, 7)]
    assert [count for _, count in runs] == [1, 2, 3, 1, 2, 3]
    assert len({pid for pid, _ in runs}) == 2


def test_a_closed_link_answers_lost(fresh: ZygoteLink) -> None:
    fresh.close()
    assert fresh.run(0, 1, pid_and_count.generate(submit=False)).lost
