"""The observers that count a worker process's runs, claims, leases and backend errors in the
pool's Prometheus metrics (see :mod:`alsek.worker.metrics`, which makes them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alsek.ports.observer import RUNNING, SETTLING, BackendObserver

if TYPE_CHECKING:
    from alsek.worker.metrics import _Instruments


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


class PrometheusBackendObserver(BackendObserver):
    """Counts what this process's consumer and watchdog see of the backend: claim batch sizes,
    lease renewals and lapses, backend errors by operation."""

    def __init__(self, instruments: _Instruments) -> None:
        self._batch = instruments.claim_batch
        self._renewals = instruments.renewals
        self._lapses = {stage: instruments.lapses.labels(stage) for stage in (RUNNING, SETTLING)}
        self._lapses_by = instruments.lapses
        self._errors = instruments.backend_errors
        self._error_children: dict[tuple[str, str], Any] = {}

    def claimed(self, count: int) -> None:
        """A claim reply leased ``count`` messages."""
        self._batch.observe(count)

    def renewed(self, count: int) -> None:
        """A heartbeat renewed ``count`` leases."""
        if count:
            self._renewals.inc(count)

    def lapsed(self, count: int, stage: str) -> None:
        """``count`` leases were lost, noticed at ``stage``."""
        child = self._lapses.get(stage)
        (child if child is not None else self._lapses_by.labels(stage)).inc(count)

    def backend_error(self, operation: str, error: BaseException) -> None:
        """A backend call of kind ``operation`` failed with ``error``."""
        key = (operation, type(error).__name__)
        child = self._error_children.get(key)
        if child is None:
            child = self._error_children[key] = self._errors.labels(*key)
        child.inc()
