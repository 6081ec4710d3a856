"""Prometheus metrics of a pool, in this process on InMemoryBackend: what a scrape shows, the
sampled queue depths, the error without the extra, and that importing alsek never needs it."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.domain.model.errors import ValidationError
from alsek.worker import metrics as metrics_module
from alsek.worker.metrics import PoolMetrics
from alsek.worker.process.pool import ProcessWorkerPool

prometheus_client = pytest.importorskip("prometheus_client")


@pytest.fixture
def pool_metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[PoolMetrics]:
    from prometheus_client import values

    monkeypatch.setattr(values, "ValueClass", values.ValueClass)  # restored after the test
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr(metrics_module, "_instruments", {})
    monkeypatch.setattr(metrics_module, "_state", {})
    backend = InMemoryBackend()
    backend.submit(Message("t", queue="a"))
    made = PoolMetrics(backend, ["a", "b"], port=0, host="127.0.0.1", sample_ms=60_000)
    made.start()
    yield made
    made.close()


def _scrape(metrics: PoolMetrics) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics.port}/metrics", timeout=10) as reply:
        return str(reply.read().decode())


def test_a_scrape_shows_runs_by_task_and_queue_and_sampled_depths(
    pool_metrics: PoolMetrics,
) -> None:
    observer = pool_metrics.observer()
    observer.started("add", "a")
    observer.finished("add", "a", "succeeded", 0.02)
    observer.started("add", "a")
    observer.finished("add", "a", "failed", 0.5)
    observer.started("add", "b")
    observer.started("other", "b")
    observer.finished("other", "b", "released", None)
    text = _scrape(pool_metrics)
    assert 'alsek_tasks_started_total{queue="a",task="add"} 2.0' in text
    assert 'alsek_tasks_succeeded_total{queue="a",task="add"} 1.0' in text
    assert 'alsek_tasks_failed_total{queue="a",task="add"} 1.0' in text
    assert 'alsek_tasks_released_total{queue="b",task="other"} 1.0' in text
    assert 'alsek_task_runtime_seconds_count{queue="a",task="add"} 2.0' in text
    assert 'alsek_task_runtime_seconds_bucket{le="0.025",queue="a",task="add"} 1.0' in text
    assert 'alsek_tasks_in_flight{queue="b",task="add"} 1.0' in text
    assert 'alsek_queue_depth{queue="a",state="ready"} 1.0' in text
    assert 'alsek_queue_depth{queue="a",state="dead"} 0.0' in text
    assert 'alsek_queue_depth{queue="b",state="ready"} 0.0' in text
    assert 'alsek_queue_oldest_ready_age_seconds{queue="a"}' in text


def test_a_busy_port_is_a_clear_error(pool_metrics: PoolMetrics) -> None:
    second = PoolMetrics(InMemoryBackend(), ["a"], port=pool_metrics.port, host="127.0.0.1")
    with pytest.raises(ValidationError, match="cannot serve metrics on 127.0.0.1"):
        second.start()
    second.close()


def test_without_the_extra_the_option_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    broker = Broker(InMemoryBackend())

    @task(broker, queue="q")
    def work() -> None: ...

    with pytest.raises(ValidationError, match=r"pip install 'alsek\[metrics\]'"):
        ProcessWorkerPool([work], n_processes=1, metrics_port=9100)


def test_importing_alsek_and_its_cli_never_imports_prometheus_client() -> None:
    code = (
        "import sys, alsek, alsek.cli.main, alsek.worker.process.pool, alsek.worker.thread.pool;"
        "assert 'prometheus_client' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
