"""What both worker pools share: checking tasks, choosing queues and the broker, the supervisor's
run loop, and the start of every child process."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from alsek.domain.model.backoff import Backoff
from alsek.domain.model.errors import MultipleBrokersError, NoTasksFoundError, ValidationError
from alsek.domain.model.worker_record import DEFAULT_HEARTBEAT_MS
from alsek.domain.services.broker import Broker
from alsek.domain.services.consumer import DEFAULT_CONSUMER_BACKOFF, DEFAULT_LEASE_MS, Consumer
from alsek.domain.services.message_processor import (
    DEFAULT_UNKNOWN_TASK_WINDOW_MS,
    MessageProcessor,
)
from alsek.worker.affinity import pin_to_cpu
from alsek.worker.checks import (
    check_tasks,
    choose_queues,
    non_negative,
    of_mechanism,
    positive,
)
from alsek.worker.lifecycle import (
    StopSignal,
    die_with_parent,
    install_stop_handlers,
    process_context,
)
from alsek.worker.metrics import PoolMetrics, backend_observer
from alsek.worker.spec import WorkerSpec
from alsek.worker.stats import WorkStats
from alsek.worker.watchdog import Watchdog

if TYPE_CHECKING:
    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.worker")

__all__ = ["WorkerPool", "start_child"]

#: How long running tasks may finish after SIGTERM/SIGINT before they are stopped (ms).
DEFAULT_GRACE_PERIOD_MS = 10_000


def broker_of(tasks: Mapping[str, Task]) -> Broker:
    """A broker for the pool's consumer: the first task's. Each task's own broker still settles
    its messages (its dead letter settings apply).

    Raises:
        NoTasksFoundError: if there are no tasks.
        MultipleBrokersError: if their brokers use different backends.
    """
    if not tasks:
        raise NoTasksFoundError("no tasks to run")
    backends = {id(t.broker.backend) for t in tasks.values()}
    if len(backends) > 1:
        raise MultipleBrokersError(
            f"tasks {sorted(tasks)} use {len(backends)} different backends; a pool needs one"
        )
    return next(iter(tasks.values())).broker


def start_child(
    spec: WorkerSpec, index: int, parent_pid: int
) -> tuple[StopSignal, MessageProcessor]:
    """Begin the life of a pool's child process number ``index`` (either pool's): keep to one
    CPU with ``spec.pin_cpus`` (before any thread starts), die with the supervisor
    ``parent_pid``, stop on SIGTERM (Ctrl-C is the supervisor's to handle), log as the parent
    does, run the spec's initializer, then find the tasks. With metrics, the consumer's claims
    and backend errors are counted.

    Returns:
        The child's stop signal, and a processor for the tasks whose consumer stops with it.
    """
    if spec.pin_cpus:
        pin_to_cpu(index)
    die_with_parent(parent_pid)
    stop = StopSignal()
    install_stop_handlers(stop.set, ignore_sigint=True)
    spec.configure_logging()
    if spec.initializer is not None:
        spec.initializer()
    tasks = spec.resolve()
    consumer = Consumer(
        broker_of(tasks), spec.queues, spec.backoff, lease_ms=spec.lease_ms, stop_signal=stop,
        tasks=spec.claim_tasks or None,
        observer=None if spec.metrics_dir is None else backend_observer(spec.metrics_dir),
    )  # fmt: skip
    return stop, MessageProcessor(
        consumer, tasks, unknown_task_window_ms=spec.unknown_task_window_ms
    )


class WorkerPool:
    """Base of the worker pools: a supervisor process that starts child processes.

    A pool runs only the tasks of its own mechanism (the thread pool ``mechanism="thread"``
    tasks, the process pool ``"process"`` ones) and logs the ones it leaves out. When it leaves
    some out, or in ``task_specific_mode``, it claims only its own tasks' messages: the others
    stay in the shared queues for the pools that run them. Otherwise a message of a task it does
    not know is failed (the tour's "unknown task").

    Args:
        tasks: the tasks to run (all on one broker).
        queues: queues to consume, most preferred first (default: the tasks' queues, sorted).
        task_specific_mode: consume only those of ``queues`` that some task uses, and in them
            only the messages of the pool's tasks (as Alsek 1.3.2).
        backoff: how long an idle consumer waits between passes (a submission wakes it at once).
        lease_ms: how long a claimed message stays leased without a heartbeat; a worker that dies
            has its messages run elsewhere this long after its last heartbeat.
        grace_period: how long running tasks may finish after SIGTERM/SIGINT (ms).
        start_method: how child processes start: ``"fork"`` (default: fast, and tasks defined in
            a script work), ``"forkserver"`` or ``"spawn"`` (tasks re-imported by module).
        initializer: called in every child process before it looks up its tasks (it must
            pickle, for ``spawn`` and ``forkserver``). The CLI passes one that points tasks
            defined without a broker at ``--redis-url``.
        unknown_task_window: how long (ms) a message of a task this pool does not know keeps
            being given back to its queue (waits growing from 1 s to 1 min), for a worker that
            knows it (a rolling deploy, a shared queue); then it is failed. 0: fail at once.
        registry_heartbeat_ms: how often each worker process rewrites its record in the worker
            registry (its time to live is three times that); 0 keeps the pool out of it.
        metrics_port: serve Prometheus metrics on this port (needs ``alsek[metrics]``);
            None: no metrics.
        metrics_host: the address the metrics server binds to.
        pin_cpus: True: pin each child process that runs tasks to one CPU for good, the
            children in turn over the CPUs: much faster for many small I/O-bound tasks on
            threads, slower for tasks that run C code outside the interpreter lock on several
            threads at once. None (default): a thread pool's process group, or a reused
            process of a process pool (``max_tasks_per_child=0``), keeps to one CPU only while
            it is busy with interpreter-bound work (see :mod:`alsek.worker.affinity_policy`);
            a process forked for a limited number of tasks is not pinned. False: never pin.
    """

    def __init__(
        self,
        tasks: Iterable[Task],
        *,
        queues: Sequence[str] | str | None = None,
        task_specific_mode: bool = False,
        backoff: Backoff | None = None,
        lease_ms: int = DEFAULT_LEASE_MS,
        grace_period: int = DEFAULT_GRACE_PERIOD_MS,
        start_method: str = "fork",
        initializer: Callable[[], object] | None = None,
        unknown_task_window: int = DEFAULT_UNKNOWN_TASK_WINDOW_MS,
        registry_heartbeat_ms: int = DEFAULT_HEARTBEAT_MS,
        metrics_port: int | None = None,
        metrics_host: str = "0.0.0.0",  # noqa: S104 - scraped from other machines
        pin_cpus: bool | None = None,
    ) -> None:
        given = check_tasks(tasks)
        self.tasks = of_mechanism(given, self.mechanism)
        self.unknown_task_window = non_negative("unknown_task_window", unknown_task_window)
        self.broker = broker_of(self.tasks)
        self.queues = choose_queues(self.tasks, queues, task_specific_mode)
        self.task_specific_mode = task_specific_mode
        #: The task names claims are limited to (None: every task, unknown ones failed).
        self.claim_tasks: frozenset[str] | None = (
            frozenset(self.tasks) if task_specific_mode or len(given) > len(self.tasks) else None
        )
        self.backoff = DEFAULT_CONSUMER_BACKOFF if backoff is None else backoff
        self.lease_ms = positive("lease_ms", lease_ms)
        self.grace_period = positive("grace_period", grace_period)
        self.start_method = start_method
        self.context = process_context(start_method)
        if initializer is not None and not callable(initializer):
            raise ValidationError(f"initializer must be callable, got {initializer!r}")
        self.initializer = initializer
        self.stop_signal = StopSignal()
        self.registry_heartbeat_ms = non_negative("registry_heartbeat_ms", registry_heartbeat_ms)
        self.pin_cpus = None if pin_cpus is None else bool(pin_cpus)
        self.metrics = (
            None
            if metrics_port is None
            else PoolMetrics(self.broker.backend, self.queues, port=metrics_port, host=metrics_host)
        )

    #: The mechanism of the tasks this pool runs.
    mechanism = "process"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tasks={sorted(self.tasks)}, queues={list(self.queues)})"

    @property
    def heartbeat_ms(self) -> int:
        """How often leases of running messages are renewed (a fifth of the lease)."""
        return max(self.lease_ms // 5, 10)

    def spec(self, **settings: Any) -> WorkerSpec:
        """What child processes are told."""
        return WorkerSpec.for_tasks(
            self.tasks.values(), queues=self.queues, lease_ms=self.lease_ms,
            heartbeat_ms=self.heartbeat_ms, backoff=self.backoff, grace_ms=self.grace_period,
            initializer=self.initializer, unknown_task_window_ms=self.unknown_task_window,
            claim_tasks=tuple(sorted(self.claim_tasks or ())),
            registry_heartbeat_ms=self.registry_heartbeat_ms, pin_cpus=self.pin_cpus,
            metrics_dir=None if self.metrics is None else self.metrics.directory,
            **settings,
        )  # fmt: skip

    def stop(self) -> None:
        """Ask :meth:`run` to stop gracefully (what SIGTERM and SIGINT do)."""
        self.stop_signal.set()

    def run(self) -> None:
        """Start the children and supervise them until :meth:`stop`, SIGTERM or SIGINT; then stop
        claiming, let running tasks finish within the grace period and release the rest.

        Raises:
            BackendConnectionError: if the backend cannot be reached at start.
            BackendError: if it cannot serve the queues (too old, damaged keys; the message says
                what to fix).
        """
        self.check_backend()
        restore_handlers = install_stop_handlers(self.stop)
        log.info("%r starting (pid %s).", self, os.getpid())
        started = time.monotonic()
        try:
            if self.metrics is not None:
                self.metrics.start()
                self.observe_backend()
            self.boot()
            threading.Thread(target=self.repair, name="alsek-repair", daemon=True).start()
            while not self.stop_signal.is_set():
                self.step()
        finally:
            log.info("Worker pool stopping...")
            self.shutdown()
            if self.metrics is not None:
                self.metrics.close()
            restore_handlers()
            log.info("Worker pool stopped after %.1f s.", time.monotonic() - started)

    def check_backend(self) -> None:
        """Before starting: check the backend can serve the queues (warnings are logged)."""
        for warning in self.broker.backend.check_health(self.queues, lease_ms=self.lease_ms):
            log.warning("%s", warning)

    def repair(self) -> None:
        """Index again any stored message that no index holds (one SCAN per queue). It runs
        beside the children once they started: it reads every stored body, which on a long
        backlog takes a while, and it is safe beside consumers (each fix is atomic)."""
        try:
            self.broker.backend.repair(self.queues)
        except Exception:  # noqa: BLE001 - the pool serves on; a later start repairs again
            log.exception("Could not look for stored messages that no index holds.")

    def observe(self, stats: WorkStats) -> None:
        """Have this process's runs counted in the pool's metrics (when enabled)."""
        if self.metrics is not None:
            stats.observers.append(self.metrics.observer())

    def observe_backend(self) -> None:
        """Have the claims, leases and backend errors of this process's own consumer and
        watchdog (a process pool's ``processor`` and ``watchdog``) counted in the metrics."""
        if self.metrics is None:
            return
        observer = self.metrics.backend_observer()
        processor = getattr(self, "processor", None)
        if isinstance(processor, MessageProcessor):
            processor.consumer.observer = observer
        watchdog = getattr(self, "watchdog", None)
        if isinstance(watchdog, Watchdog):
            watchdog.observer = observer

    def boot(self) -> None:
        """Start the children."""
        raise NotImplementedError

    def step(self) -> None:
        """One round of supervision (it waits for its interval itself)."""
        raise NotImplementedError

    def shutdown(self) -> None:
        """Stop the children gracefully."""
        raise NotImplementedError
