"""Prometheus metrics of a pool, in this process on InMemoryBackend: what a scrape shows (runs,
claim batches, leases, backend errors), the sampled queue depths, the error without the extra,
and that importing alsek never needs it."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.domain.model.errors import BackendConnectionError, BackendError, ValidationError
from alsek.worker import metrics as metrics_module
from alsek.worker.metrics import PoolMetrics
from alsek.worker.metrics_observers import PrometheusBackendObserver
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


def test_a_scrape_shows_claim_batches_lease_renewals_lapses_and_backend_errors(
    pool_metrics: PoolMetrics,
) -> None:
    observer = pool_metrics.backend_observer()
    for count in (0, 1, 3, 3):
        observer.claimed(count)
    observer.renewed(4)
    observer.renewed(0)
    observer.lapsed(1, "running")
    observer.lapsed(2, "settle")
    observer.backend_error("claim", BackendConnectionError("down"))
    observer.backend_error("claim", BackendConnectionError("down"))
    observer.backend_error("extend", BackendError("damaged"))
    text = _scrape(pool_metrics)
    assert "alsek_claim_batch_size_count 4.0" in text
    assert "alsek_claim_batch_size_sum 7.0" in text
    assert 'alsek_claim_batch_size_bucket{le="0.0"} 1.0' in text
    assert 'alsek_claim_batch_size_bucket{le="2.0"} 2.0' in text
    assert 'alsek_claim_batch_size_bucket{le="4.0"} 4.0' in text
    assert "alsek_lease_renewals_total 4.0" in text
    assert 'alsek_lease_lapses_total{stage="running"} 1.0' in text
    assert 'alsek_lease_lapses_total{stage="settle"} 2.0' in text
    assert (
        'alsek_backend_errors_total{error="BackendConnectionError",operation="claim"} 2.0' in text
    )
    assert 'alsek_backend_errors_total{error="BackendError",operation="extend"} 1.0' in text


def test_a_process_pool_counts_its_supervisors_consumer_and_watchdog(
    pool_metrics: PoolMetrics,
) -> None:
    broker = Broker(InMemoryBackend())

    @task(broker, queue="q")
    def work() -> None: ...

    pool = ProcessWorkerPool([work], n_processes=1, metrics_port=0, metrics_host="127.0.0.1")
    assert pool.metrics is not None
    pool.metrics.directory = pool_metrics.directory
    assert pool.processor.consumer.observer is None and pool.watchdog.observer is None
    pool.observe_backend()
    observer = pool.processor.consumer.observer
    assert isinstance(observer, PrometheusBackendObserver)
    assert pool.watchdog.observer is observer
    work.generate()
    assert len(pool.processor.consumer.claim(5)) == 1
    assert "alsek_claim_batch_size_count 1.0" in _scrape(pool_metrics)
    pool.metrics.close()


def test_the_readme_lists_every_metric_and_no_other(pool_metrics: PoolMetrics) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Prometheus metrics", 1)[1].split("\n### ", 1)[0]
    listed = set(re.findall(r"`(alsek_[a-z_]+)`", section))
    instruments = metrics_module._instruments_in(pool_metrics.directory)
    metrics = [m for m in vars(instruments).values() if not isinstance(m, dict)]
    metrics += list(instruments.outcomes.values())
    defined = {
        family.name + ("_total" if family.type == "counter" else "")
        for metric in metrics for family in metric.describe()
    }  # fmt: skip
    assert listed == defined


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
