"""What result and status tracking cost Redis, measured with MONITOR on a real worker pool.

For each configuration (bare task, + result store, + status tracker, + both) N no-op tasks are
submitted, processed by a ThreadWorkerPool and (when stored) fetched. MONITOR lists every command
Redis runs, with its origin: a client connection (one request: at most one round trip) or a Lua
script (free of round trips: it runs inside a request). The table is printed (``pytest -s``) and
the bounds below are asserted. Waiting is measured too: its command count must not grow with the
time spent waiting.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from alsek import Broker, Message, task
from alsek.adapters.redis import RedisBackend
from alsek.adapters.redis.keys import KeyLayout
from alsek.domain.model.errors import ResultNotFoundError
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.status_tracker import StatusTracker
from alsek.storage.result import ResultStore
from alsek.tools import ResultPool
from tests.integration.test_results_redis import running_pool

N = 300
#: Sent once per new connection, not per task or per wait: left out of the counts.
_CONNECTION_SETUP = {"HELLO", "CLIENT", "AUTH", "SELECT"}


class Monitor:
    """Records the commands Redis runs, split into phases by ``ECHO`` markers."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url)
        self.probe = redis.Redis.from_url(url, single_connection_client=True)
        self._probe_addr = self.probe.client_info()["addr"]
        self._token = uuid.uuid4().hex
        self.phases: dict[str, Counter[str]] = {}
        self._marked = threading.Condition()
        self._last_marker = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)

    def __enter__(self) -> Monitor:
        self._thread.start()
        while not self._ready.is_set():  # the monitor sees our marker once it is listening
            self.probe.echo(f"{self._token}:start")
            self._ready.wait(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.probe.echo(f"{self._token}:stop")
        self._thread.join(10)
        self.probe.close()
        self._client.close()

    def phase(self, name: str) -> None:
        """Count what follows under ``name``; returns once the listener has counted everything
        before it (MONITOR lines are read in another thread, in Redis's order)."""
        self.probe.echo(f"{self._token}:phase:{name}")
        with self._marked:
            seen = self._marked.wait_for(lambda: self._last_marker == name, timeout=30)
        assert seen, f"the monitor did not see the marker of phase {name!r} in time"

    def _listen(self) -> None:
        current = None
        with self._client.monitor() as monitor:
            for command in monitor.listen():
                text = command["command"]
                if self._token in text:
                    self._ready.set()
                    if text.endswith(":stop"):
                        return
                    if ":phase:" in text:
                        current = text.rsplit(":phase:", 1)[1]
                        self.phases[current] = Counter()
                        with self._marked:
                            self._last_marker = current
                            self._marked.notify_all()
                    continue
                address = f"{command.get('client_address')}:{command.get('client_port')}"
                if current is None or address == self._probe_addr:
                    continue
                origin = "lua" if command.get("client_type") == "lua" else "client"
                name = text.split(" ", 1)[0].strip('"').upper()
                if name in _CONNECTION_SETUP:
                    continue
                self.phases[current][f"{origin}:{name}"] += 1

    def wait_until_idle(self, backend: RedisBackend, queue: str, timeout_s: float = 60) -> None:
        """Wait (through the probe, not counted) until ``queue`` has nothing waiting or leased."""
        keys = KeyLayout(backend.namespace).queue(queue)
        deadline = time.monotonic() + timeout_s
        while (
            self.probe.zcard(keys.ready)
            + self.probe.zcard(keys.leased)
            + self.probe.zcard(keys.delayed)
        ):
            assert time.monotonic() < deadline, "the pool did not finish in time"
            time.sleep(0.01)  # the probe's polling is excluded from the counts


def _per_task(counts: Counter[str]) -> tuple[float, float]:
    # SCRIPT LOAD happens once per server (whichever configuration runs first), not per task.
    client = sum(v for k, v in counts.items() if k.startswith("client:") and k != "client:SCRIPT")
    lua = sum(v for k, v in counts.items() if k.startswith("lua:"))
    return client / N, lua / N


def _measure(
    make_backend: Callable[..., RedisBackend], monitor: Monitor, config: str
) -> dict[str, tuple[float, float]]:
    backend = make_backend(namespace=f"cost-{config}-{uuid.uuid4().hex[:6]}")
    broker = Broker(backend)
    store = ResultStore(backend) if config in ("results", "both") else None
    tracker = StatusTracker(backend) if config in ("status", "both") else None

    @task(broker, name=f"noop_{config}", queue=f"q_{config}", mechanism="thread",
          result_store=store, status_tracker=tracker)  # fmt: skip
    def noop() -> int:
        return 1

    monitor.phase(f"{config}:submit")
    messages = [noop.generate() for _ in range(N)]
    monitor.phase(f"{config}:process")
    with running_pool([noop]):
        monitor.wait_until_idle(backend, f"q_{config}")
        monitor.phase(f"{config}:idle")
    monitor.phase(f"{config}:fetch")
    if store is not None:
        assert len(list(ResultPool(store).istream(*messages, timeout=10_000))) == N
    if tracker is not None:
        assert all(tracker.get(m) is TaskStatus.SUCCEEDED for m in messages)
    monitor.phase(f"{config}:done")
    return {
        phase: _per_task(monitor.phases.get(f"{config}:{phase}", Counter()))
        for phase in ("submit", "process", "fetch")
    }


@pytest.fixture
def monitor(redis_url: str) -> Iterator[Monitor]:
    with Monitor(redis_url) as recording:
        yield recording


def test_cost_per_task(make_redis_backend: Callable[..., RedisBackend], monitor: Monitor) -> None:
    table = {
        c: _measure(make_redis_backend, monitor, c) for c in ("bare", "results", "status", "both")
    }
    print(f"\nRedis commands per task (N={N}): client requests / commands run inside scripts")
    for config, phases in table.items():
        cells = "  ".join(f"{p}: {c:5.2f} / {lua:5.2f}" for p, (c, lua) in phases.items())
        print(f"{config:8s} {cells}")
    for phase in ("submit", "process", "fetch"):
        print(f"  {phase} detail (both): {dict(monitor.phases[f'both:{phase}'])}")

    bare, results, status = table["bare"], table["results"], table["status"]
    # Storing a result adds no request: its SET and PUBLISH ride in the ack's script.
    assert results["submit"][0] == pytest.approx(bare["submit"][0], abs=0.05)
    # Workers batch acknowledgements (how many share a request depends on timing): at most one
    # request per task settles it, with or without a result.
    assert bare["process"][0] <= 1.05
    assert results["process"][0] <= 1.05
    # ... only a SET and a PUBLISH inside the script, per task (compared command by command:
    # the claims' share of the script commands depends on how the batches fell).
    for command in ("lua:SET", "lua:PUBLISH"):
        added = monitor.phases["results:process"][command] - monitor.phases["bare:process"][command]
        assert added == N, command
    # Status: SUBMITTED and SUCCEEDED ride in scripts (SET + PUBLISH each); RUNNING is written
    # by the worker on its own, in one request (a script with its SET and PUBLISH).
    assert status["submit"][0] == pytest.approx(bare["submit"][0], abs=0.05)
    assert status["submit"][1] <= bare["submit"][1] + 2.05
    assert status["process"][0] <= 1 + 1.05
    # Fetching a result: one MGET per notification batch plus one DEL per result.
    assert results["fetch"][0] <= 2.1


def _count(monitor: Monitor, name: str, action: Callable[[], Any]) -> int:
    monitor.phase(name)
    action()
    monitor.phase(f"after-{name}")
    return sum(monitor.phases.get(name, Counter()).values())


def test_waiting_costs_nothing_while_it_waits(
    make_redis_backend: Callable[..., RedisBackend], monitor: Monitor
) -> None:
    backend = make_redis_backend()
    store, tracker = ResultStore(backend), StatusTracker(backend)
    pending = [Message("never", uuid=f"m{i}") for i in range(1_000)]

    def wait_for_results(ms: int) -> Callable[[], None]:
        def wait() -> None:
            with pytest.raises(ResultNotFoundError):
                list(ResultPool(store).istream(*pending, timeout=ms))

        return wait

    def wait_for_one(ms: int) -> Callable[[], None]:
        def wait() -> None:
            with pytest.raises(ResultNotFoundError):
                store.get(pending[0], timeout=ms)
            with pytest.raises(TimeoutError):
                tracker.wait_for(pending[0], TaskStatus.SUCCEEDED, timeout=ms)

        return wait

    short_pool = _count(monitor, "pool-short", wait_for_results(200))
    long_pool = _count(monitor, "pool-long", wait_for_results(1_500))
    short_one = _count(monitor, "one-short", wait_for_one(200))
    long_one = _count(monitor, "one-long", wait_for_one(1_500))
    print(f"\nwaiting on 1,000 results: {short_pool} commands for 0.2 s, {long_pool} for 1.5 s")
    print(f"waiting on one result and one status: {short_one} for 0.2 s, {long_one} for 1.5 s")
    # subscribe, read all, read all at the deadline (+ unsubscribe): whatever the wait
    assert long_pool == short_pool <= 4
    assert long_one == short_one <= 8  # per wait: read, subscribe, read, read at the deadline
