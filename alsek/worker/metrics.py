"""Prometheus metrics of a worker pool (the optional ``alsek[metrics]`` extra).

The pool's supervisor serves ``/metrics`` on ``metrics_port``. Every process that runs messages
(a process pool's supervisor, each process group of a thread pool) counts its own runs through a
:class:`PrometheusObserver`; the values live in ``prometheus_client``'s multiprocess files in a
directory of the pool's own, which the supervisor's server adds up at each scrape. Queue depths
are sampled by the supervisor every few seconds, never per scrape. ``prometheus_client`` is
imported only when metrics are asked for: importing alsek never needs it.

Metric names: ``alsek_tasks_started_total``, ``alsek_tasks_succeeded_total``,
``alsek_tasks_failed_total``, ``alsek_tasks_revoked_total``, ``alsek_tasks_retried_total``,
``alsek_tasks_deferred_total``,
``alsek_tasks_released_total`` (labels ``task``, ``queue``), ``alsek_task_runtime_seconds``
(histogram), ``alsek_tasks_in_flight`` (gauge), ``alsek_queue_depth`` (gauge, labels ``queue``,
``state``: ready, delayed, leased, dead), ``alsek_queue_oldest_ready_age_seconds``,
``alsek_queue_depth_errors_total``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from alsek.domain.model.errors import BackendError, ValidationError
from alsek.ports.backend import Backend

log = logging.getLogger("alsek.metrics")

#: How often (ms) the supervisor samples queue depths (one atomic count per queue).
DEPTH_SAMPLE_MS = 5_000
#: Dead letters are counted every this many samples (a scan: costlier).
DEAD_EVERY = 12
#: Run-time histogram buckets (seconds).
RUNTIME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
OUTCOMES = ("succeeded", "failed", "revoked", "retried", "deferred", "released")


def prometheus() -> Any:
    """The ``prometheus_client`` module.

    Raises:
        ValidationError: if it is not installed (the ``alsek[metrics]`` extra).
    """
    try:
        import prometheus_client
    except ImportError as error:
        raise ValidationError(
            "metrics need the prometheus_client library: pip install 'alsek[metrics]'"
        ) from error
    return prometheus_client


def _multiprocess(directory: str) -> Any:
    """Make this process write its metric values to ``directory`` (prometheus_client's
    multiprocess mode), whenever ``prometheus_client`` was imported. A forked child gets value
    storage of its own: it must not touch the locks and files its parent's threads held."""
    client = prometheus()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    from prometheus_client import values

    if _state.get("values_pid") != os.getpid() or not getattr(
        values.ValueClass, "_multiprocess", False
    ):
        values.ValueClass = values.MultiProcessValue()
        _state["values_pid"] = os.getpid()
    return client


class _Instruments:
    """The metric objects of one process (unregistered: the files are what is collected)."""

    def __init__(self, client: Any) -> None:
        labels = ("task", "queue")
        self.started = client.Counter("alsek_tasks_started", "Runs begun.", labels, registry=None)
        self.outcomes = {
            outcome: client.Counter(
                f"alsek_tasks_{outcome}", f"Runs that ended {outcome}.", labels, registry=None
            )
            for outcome in OUTCOMES
        }
        self.runtime = client.Histogram(
            "alsek_task_runtime_seconds", "Run time of tasks (seconds).", labels,
            buckets=RUNTIME_BUCKETS, registry=None,
        )  # fmt: skip
        self.in_flight = client.Gauge(
            "alsek_tasks_in_flight", "Messages being run.", labels,
            multiprocess_mode="livesum", registry=None,
        )  # fmt: skip
        self.depth = client.Gauge(
            "alsek_queue_depth", "Messages of a queue by state: ready, delayed, leased, dead "
            "(sampled).", ("queue", "state"), multiprocess_mode="mostrecent", registry=None,
        )  # fmt: skip
        self.oldest = client.Gauge(
            "alsek_queue_oldest_ready_age_seconds", "How long the oldest ready message of a "
            "queue has waited (sampled).", ("queue",), multiprocess_mode="mostrecent",
            registry=None,
        )  # fmt: skip
        self.depth_errors = client.Counter(
            "alsek_queue_depth_errors", "Queue samples the backend failed.", registry=None
        )


_instruments: dict[int, _Instruments] = {}
_state: dict[str, int] = {}
_lock = threading.Lock()


def _instruments_in(directory: str) -> _Instruments:
    global _lock
    if _state.get("lock_pid") != os.getpid():  # forked: the parent's lock may have been held
        _lock = threading.Lock()
        _state["lock_pid"] = os.getpid()
    with _lock:
        client = _multiprocess(directory)
        pid = os.getpid()
        if pid not in _instruments:  # a forked child makes its own (the parent's are its)
            _instruments.clear()
            _instruments[pid] = _Instruments(client)
        return _instruments[pid]


class _Labelled:
    """The metric children of one (task, queue): looked up once, not per run."""

    def __init__(self, m: _Instruments, task: str, queue: str) -> None:
        self.started = m.started.labels(task, queue)
        self.in_flight = m.in_flight.labels(task, queue)
        self.runtime = m.runtime.labels(task, queue)
        self.outcomes = {o: counter.labels(task, queue) for o, counter in m.outcomes.items()}


class PrometheusObserver:
    """Counts the runs of this process in the pool's metrics (a
    :class:`~alsek.worker.stats.RunObserver`)."""

    def __init__(self, instruments: _Instruments) -> None:
        self._m = instruments
        self._children: dict[tuple[str, str], _Labelled] = {}

    def _of(self, task: str, queue: str) -> _Labelled:
        children = self._children.get((task, queue))
        if children is None:
            children = self._children[(task, queue)] = _Labelled(self._m, task, queue)
        return children

    def started(self, task: str, queue: str) -> None:
        """A run began."""
        children = self._of(task, queue)
        children.started.inc()
        children.in_flight.inc()

    def finished(self, task: str, queue: str, outcome: str, runtime_s: float | None) -> None:
        """A run ended."""
        children = self._of(task, queue)
        children.in_flight.dec()
        children.outcomes[outcome].inc()
        if runtime_s is not None and outcome != "released":
            children.runtime.observe(runtime_s)


def metrics_observer(directory: str) -> PrometheusObserver:
    """An observer for this process writing to the pool's metrics ``directory``.

    Raises:
        ValidationError: if ``prometheus_client`` is not installed.
    """
    return PrometheusObserver(_instruments_in(directory))


class PoolMetrics:
    """A pool's metrics: the directory its processes write to, the ``/metrics`` server and the
    queue depth sampler (both in the supervisor).

    Args:
        backend: where the queues are.
        queues: the queues whose depth is sampled.
        port: the port ``/metrics`` is served on (0: any free port, see :attr:`port`).
        host: the address it binds to.
        sample_ms: how often queue depths are sampled.

    Raises:
        ValidationError: if ``prometheus_client`` is not installed, or the port is invalid.
    """

    def __init__(
        self,
        backend: Backend,
        queues: Sequence[str],
        *,
        port: int,
        host: str = "0.0.0.0",  # noqa: S104
        sample_ms: int = DEPTH_SAMPLE_MS,
    ) -> None:
        prometheus()
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ValidationError(f"metrics_port must be a port number, got {port!r}")
        self.backend = backend
        self.queues = tuple(queues)
        self.port = port
        self.host = host
        self.sample_ms = sample_ms
        self.directory = tempfile.mkdtemp(prefix="alsek-metrics-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.directory, True)
        self._server: Any = None
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, name="alsek-metrics", daemon=True)
        self._samples = 0

    def start(self) -> None:
        """Serve ``/metrics`` and start sampling queue depths.

        Raises:
            ValidationError: if the port cannot be bound.
        """
        client = prometheus()
        from prometheus_client import multiprocess

        registry = client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.directory)
        try:
            self._server, _ = client.start_http_server(self.port, addr=self.host, registry=registry)
        except OSError as error:
            raise ValidationError(
                f"cannot serve metrics on {self.host}:{self.port}: {error}"
            ) from error
        _multiprocess(self.directory)
        self.port = self._server.server_port
        log.info("Serving Prometheus metrics on http://%s:%s/metrics", self.host, self.port)
        self._sampler.start()

    def observer(self) -> PrometheusObserver:
        """An observer for the supervisor's own runs (a process pool's)."""
        return metrics_observer(self.directory)

    def process_died(self, pid: int | None) -> None:
        """Drop the live gauges of a child process that ended (its in-flight runs)."""
        if pid is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid, self.directory)

    def sample(self) -> None:
        """Sample every queue's counts once (one atomic read per queue), and every
        :data:`DEAD_EVERY` samples its dead letters (a bounded scan)."""
        instruments = _instruments_in(self.directory)
        dead_too = self._samples % DEAD_EVERY == 0
        self._samples += 1
        for queue in self.queues:
            try:
                counts = self.backend.queue_counts(queue)
                dead = self.backend.count_dead_letters(queue) if dead_too else None
            except BackendError as error:
                instruments.depth_errors.inc()
                log.debug("Cannot sample queue %s: %s", queue, error)
                continue
            for state in ("ready", "delayed", "leased"):
                instruments.depth.labels(queue, state).set(getattr(counts, state))
            if dead is not None:
                instruments.depth.labels(queue, "dead").set(dead)
            instruments.oldest.labels(queue).set((counts.oldest_ready_age_ms or 0) / 1000)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.sample_ms / 1000)

    def close(self) -> None:
        """Stop the server and the sampler, and delete the directory."""
        self._stop.set()
        if self._sampler.is_alive():
            self._sampler.join(timeout=5)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._cleanup()
