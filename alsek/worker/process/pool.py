"""The process worker pool: each task in a process of its own, forked fresh from a warm zygote.

The supervisor (this process) claims and acknowledges for the pool with one
:class:`~alsek.worker.feeder.Feeder` and runs ``n_processes`` dispatcher threads. A dispatcher
takes a message, records it RUNNING and hands it to its zygote (:mod:`.zygote`, one per CPU),
which gives it to a task process forked ahead of need: it runs the message, decides its
settlement (the task's hooks run there) and reports back. So every task gets a fresh process (no
import per task) and globals, leaks and crashes never reach the next; ``max_tasks_per_child`` > 1
lets a process serve that many first. The watchdog renews leases, kills the task process of a
message past its deadline or revoked, and restarts a dead zygote. ``max_tasks_per_child=0``
builds :class:`~alsek.worker.process.warm.WarmProcessPool` instead.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from alsek.domain.model.errors import RevokedError, TerminationError
from alsek.domain.model.message import Message
from alsek.domain.model.outcome import Outcome
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.processing import Settlement, announce, settle_safely
from alsek.worker.checks import default_process_count, non_negative, positive
from alsek.worker.feeder import Feeder
from alsek.worker.leases import Running, RunTable, release_quietly
from alsek.worker.lifecycle import StopSignal
from alsek.worker.pool import WorkerPool
from alsek.worker.process.link import Reply, ZygoteLink
from alsek.worker.process.runner import decode_settlement
from alsek.worker.registry import Heartbeat, Identity
from alsek.worker.stats import WorkStats
from alsek.worker.watchdog import Watchdog

if TYPE_CHECKING:
    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.worker")

#: Messages the pool claims ahead of its free task processes by default.
DEFAULT_PREFETCH = 32
#: How long (s) stopping waits for dispatchers after their task processes were killed.
_JOIN_AFTER_KILL_S = 5.0


class ProcessWorkerPool(WorkerPool):
    """Runs each task in a process of its own, up to ``n_processes`` at once.

    Args:
        tasks: the tasks to run (all on one broker); only those with ``mechanism="process"``
            (the default) run here (see :class:`~alsek.worker.pool.WorkerPool`).
        n_processes: how many tasks may run at once (default: one per CPU).
        prune_interval: how often (ms) the supervisor checks deadlines and the zygote.
        slot_wait_interval: accepted for compatibility; it has no effect (nothing polls).
        prefetch: messages claimed ahead of the free task processes, so that a finished task's
            slot never waits on Redis (0: claim only for free slots; default 32, and 64 per
            process with ``max_tasks_per_child=0``). They go back to the queue when no task
            process has taken one for 50 ms.
        max_tasks_per_child: messages a task process runs before a fresh one is forked: 1
            (default) a fresh process per task; 0: no limit, warm processes each claiming for
            themselves (:mod:`alsek.worker.process.warm`), many times faster for short tasks.
        **options: as for :class:`~alsek.worker.pool.WorkerPool` (``queues``, ``backoff``,
            ``lease_ms``, ``grace_period``, ...).
    """

    mechanism = "process"
    default_prefetch = DEFAULT_PREFETCH  # claimed ahead by default

    def __init__(
        self,
        tasks: Iterable[Task],
        n_processes: int | None = None,
        prune_interval: int = 100,
        slot_wait_interval: int = 50,
        prefetch: int | None = None,
        max_tasks_per_child: int = 1,
        **options: Any,
    ) -> None:
        super().__init__(tasks, **options)
        self.n_processes = positive("n_processes", n_processes or default_process_count())
        self.prune_interval = positive("prune_interval", prune_interval)
        self.slot_wait_interval = positive("slot_wait_interval", slot_wait_interval)
        default = self.default_prefetch
        self.prefetch = non_negative("prefetch", default if prefetch is None else prefetch)
        self.max_tasks_per_child = non_negative("max_tasks_per_child", max_tasks_per_child)
        self._build()

    def __new__(cls, *args: Any, max_tasks_per_child: int = 1, **options: Any) -> Any:
        # Reuse without limit runs warm children that claim for themselves (much faster for
        # short tasks): another runtime, chosen here so that callers build one class.
        reuse = args[5] if len(args) > 5 else max_tasks_per_child
        if cls is ProcessWorkerPool and reuse == 0:
            from alsek.worker.process.warm import WarmProcessPool

            cls = WarmProcessPool
        return super().__new__(cls)

    def _build(self) -> None:
        """Build the runtime: zygotes, the supervisor's feeder and its dispatchers."""
        # One zygote per CPU (at most one per slot): forks of different slots run in parallel.
        n_zygotes = min(self.n_processes, default_process_count())
        self._spec = self.spec(
            n_threads=1, prefetch=self.prefetch, max_tasks_per_child=self.max_tasks_per_child,
            zygote_spares=-(-self.n_processes // n_zygotes),
        )  # fmt: skip
        consumer = Consumer(
            self.broker, self.queues, self.backoff, lease_ms=self.lease_ms,
            stop_signal=self.stop_signal, tasks=self.claim_tasks,
        )  # fmt: skip
        self.processor = MessageProcessor(
            consumer, self.tasks, unknown_task_window_ms=self.unknown_task_window
        )
        self.feeder = Feeder(
            self.processor, executors=self.n_processes, stop=self.stop_signal,
            prefetch=self.prefetch,
        )  # fmt: skip
        self.runs = RunTable()
        self.stats = WorkStats()
        identity = Identity(kind="process-pool", queues=self.queues, tasks=sorted(self.tasks),
                            concurrency=self.n_processes)  # fmt: skip
        self.heartbeat = Heartbeat.optional(
            self.broker.backend, identity, self.runs, self.stats, self.registry_heartbeat_ms
        )
        self.links = [
            ZygoteLink(self.context, self._spec, self.stop_signal) for _ in range(n_zygotes)
        ]
        self.watchdog = Watchdog(
            self.broker.backend, self, lease_ms=self.lease_ms,
            heartbeat_ms=self.heartbeat_ms, tick_ms=self.prune_interval,
        )  # fmt: skip
        self._run_numbers = itertools.count(1)
        self._dispatchers: list[threading.Thread] = []

    # -- supervision -----------------------------------------------------------------------------

    def boot(self) -> None:
        """Start the zygote, the feeder and the dispatchers."""
        log.info("Process pool: up to %s task process(es) on queue(s) %s, %s.",
                 self.n_processes, ", ".join(self.queues), self._reuse_text())  # fmt: skip
        for link in self.links:
            link.start()
        self.feeder.start()
        self.observe(self.stats)
        if self.heartbeat is not None:
            self.heartbeat.start()
        for slot in range(self.n_processes):
            thread = threading.Thread(
                target=self._serve, args=(slot,), name=f"alsek-dispatch-{slot}", daemon=True
            )
            thread.start()
            self._dispatchers.append(thread)

    def link_of(self, slot: int) -> ZygoteLink:
        """The zygote that forks the task processes of ``slot``."""
        return self.links[slot % len(self.links)]

    @property
    def ready(self) -> bool:
        """Whether every zygote is up with its tasks."""
        return all(link.ready for link in self.links)

    def _reuse_text(self) -> str:
        if self.max_tasks_per_child == 1:
            return "a fresh process per task"
        if self.max_tasks_per_child == 0:
            return "task processes reused without limit"
        return f"up to {self.max_tasks_per_child} tasks per process"

    def step(self) -> None:
        """One watchdog round: revocations, deadlines, heartbeats, the zygote."""
        self.watchdog.step(self.stop_signal)

    # -- dispatchers -----------------------------------------------------------------------------

    def _serve(self, slot: int) -> None:
        """The life of a dispatcher: hand the last settlement to the feeder, take the next
        message, have it run in a task process; until the feeder has no more."""
        settlement: Settlement | None = None
        while True:
            try:
                message = self.feeder.next(settlement)
                settlement = None
                if message is None:
                    return
                settlement = self._run(slot, message)
            except Exception:  # a dispatcher must never die silently, nor for good
                log.exception("Dispatcher %s failed; it carries on.", slot)
                settlement = None
                if self.stop_signal.wait(1.0):
                    return

    def _run(self, slot: int, message: Message) -> Settlement | None:
        """Run ``message`` in a task process; return how it ends (None: released)."""
        task = self.processor.task_for(message)
        running = Running(
            message=message, key=slot, run=next(self._run_numbers),
            deadline_ms=self.broker.backend.clock.now_ms() + message.timeout,
        )  # fmt: skip
        self.runs.add(running)
        self.stats.started(message)
        began, settlement = time.perf_counter(), None
        try:
            if task is None:
                settlement = self.processor.unknown_task(message)
                return settlement
            self.processor.begin(task, message)
            reply = self.link_of(slot).run(slot, running.run, message)
            running.settling = True
            settlement = self._settlement(task, running, reply)
            return settlement
        finally:
            self.runs.discard(running)
            self.stats.finished(message, settlement, time.perf_counter() - began)

    def _settlement(self, task: Task, running: Running, reply: Reply) -> Settlement | None:
        message = running.message
        if reply.payload is not None:
            try:
                return decode_settlement(reply.payload)
            except Exception as garbage:  # a task that wrote garbage to its pipe: its crash
                log.error(
                    "Unreadable report from the task process of %s: %s", message.summary, garbage
                )
        if reply.lost or running.interrupt is TerminationError:
            release_quietly(self.broker.backend, [message])  # not the task's doing: run again
            return None
        if running.interrupt is not None:
            error: BaseException = running.interrupt(f"{message.summary}: {self._why(running)}")
        else:
            error = ChildProcessError(f"the worker process died (exit code {reply.exit_code})")
        outcome = Outcome.failure(error)
        settlement = settle_safely(task, message, outcome, self.processor.tasks)
        announce(task, settlement, outcome)
        return settlement

    @staticmethod
    def _why(running: Running) -> str:
        if running.interrupt is TimeoutError:
            return f"exceeded its timeout of {running.message.timeout} ms"
        return "was revoked"

    # -- watchdog hooks --------------------------------------------------------------------------

    def running(self) -> list[Running]:
        """The messages running in task processes (for the watchdog)."""
        return self.runs.snapshot()

    def on_timeout(self, running: Running) -> None:
        """Kill the task process of a message past its deadline (it is retried or failed)."""
        self._kill(running, TimeoutError)

    def on_revoke(self, uuid: str) -> None:
        """Kill the task process running message ``uuid`` (it fails as revoked)."""
        for running in self.runs.by_uuid(uuid):
            self._kill(running, RevokedError)

    def on_tick(self) -> None:
        """Restart a zygote that died."""
        for link in self.links:
            link.ensure_running()

    def _kill(self, running: Running, reason: type[BaseException]) -> None:
        if running.settling:
            return
        log.warning(
            "Killing the task process of %s (%s).", running.message.summary, reason.__name__
        )
        running.interrupt = reason
        running.interrupted_at = time.monotonic()
        self.link_of(running.key).kill(running.key, running.run)

    # -- shutdown --------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop claiming, keep renewing leases while running tasks finish (within the grace
        period), then kill the task processes left and release their messages."""
        self.stop_signal.set()
        self.feeder.wake()
        grace = StopSignal.after(self.grace_period / 1000)
        while not grace.is_set() and self._dispatching():
            self.watchdog.step(grace)
        for running in self.runs.snapshot():
            self._kill(running, TerminationError)
        deadline = time.monotonic() + _JOIN_AFTER_KILL_S
        for thread in self._dispatchers:
            thread.join(max(deadline - time.monotonic(), 0))
        self.feeder.close(timeout_s=5)
        for link in self.links:
            link.close()
        self.watchdog.close()
        if self.heartbeat is not None:
            self.heartbeat.stop()

    def _dispatching(self) -> bool:
        return any(thread.is_alive() for thread in self._dispatchers)
