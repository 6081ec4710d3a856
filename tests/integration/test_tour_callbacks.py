"""The tour's callbacks (the nested ones included) run as written through real worker pools.

"Callbacks of arbitrary depth are also supported": the tour's nested example submits only
``add_1``'s message; each callback is submitted when the message before it succeeds, with its
``previous_result``; ``print_result`` prints 5 for both the nested and the flat form.
"""

from __future__ import annotations

import pytest

from alsek import Broker
from tests.integration.test_tour_core import CALLBACKS, NESTED
from tests.integration.test_worker_harness import wait_until
from tests.integration.test_worker_pools import running
from tests.integration.tour import redirect_localhost, run

TASKS = ("add_1", "add_1_previous", "print_result")


@pytest.fixture(autouse=True)
def _localhost_is_the_test_server(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    redirect_localhost(monkeypatch, redis_url)


def _drained(broker: Broker) -> bool:
    return broker.backend.count("queues") == 0


@pytest.mark.parametrize("kind", ["process", "thread"])
def test_nested_and_flat_callbacks_run_through_a_pool(
    kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    from alsek.core.worker.process import ProcessWorkerPool
    from alsek.core.worker.thread import ThreadWorkerPool

    scope = run(CALLBACKS)
    broker: Broker = scope["broker"]
    broker.backend.clear_namespace()
    run(NESTED, scope)  # the tour's code, as written: submits add_1's two messages only
    assert broker.backend.count("queues") == 2
    tasks = [scope[name] for name in TASKS]
    if kind == "thread":  # the tour's tasks take the default mechanism, "process"
        for made in tasks:
            made.mechanism = "thread"
        pool = ThreadWorkerPool(tasks=tasks, n_threads=4, n_processes=1)
    else:
        pool = ProcessWorkerPool(tasks=tasks, n_processes=2)
    with running(pool):
        wait_until(lambda: _drained(broker), 60, "both chains to finish")
    printed = "".join(capfd.readouterr().out.split())  # two threads' prints may interleave
    assert printed == "55", printed
    assert list(broker.dead_letters()) == [], "no callback failed"
