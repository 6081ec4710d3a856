"""A group of worker threads in one process, fed by one feeder thread.

Each worker thread runs a message, hands its acknowledgement to the group's
:class:`~alsek.worker.feeder.Feeder` and takes the next message from it. The feeder sends all
pending acknowledgements and a claim for the free threads (plus a prefetch, given back when every
thread stays busy for 50 ms) in one round trip: the group never polls, never sits on work another
worker could run, and under load pays far less than one round trip per task. When the queues
are empty, an idle worker thread waits in Redis itself and runs the first message that comes
(:mod:`~alsek.worker.feeder_parking`): no hand-over between threads before an idle group's task
starts. A watchdog thread renews leases, times tasks out and applies revocations; an affinity
governor may keep the busy group on one CPU (:mod:`~alsek.worker.affinity_governor`).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from alsek.domain.model.errors import RevokedError, TerminationError
from alsek.domain.model.message import Message
from alsek.domain.model.outcome import Outcome
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.processing import Settlement, announce, run_task, settle_safely
from alsek.worker.affinity_governor import AffinityGovernor
from alsek.worker.feeder import Feeder
from alsek.worker.leases import Running, RunTable, release_quietly
from alsek.worker.lifecycle import StopSignal
from alsek.worker.registry import Heartbeat, Identity
from alsek.worker.stats import WorkStats
from alsek.worker.thread.interrupt import ThreadInterrupter
from alsek.worker.thread.lane import AsyncLane
from alsek.worker.thread.worker_thread import WorkerThread
from alsek.worker.watchdog import Watchdog

if TYPE_CHECKING:
    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.worker")


class ThreadGroup:
    """``n_threads`` worker threads in this process, with their watchdog.

    Args:
        processor: runs and settles the messages (its consumer's stop signal must be ``stop``).
        n_threads: how many messages may run at once.
        stop: set to stop claiming and wind down (see :meth:`shutdown`).
        heartbeat_ms: how often leases are renewed.
        complete_only_on_thread_exit: after a timeout or revocation, keep the thread's slot
            until its task really unwinds (True), or, when the thread stays stuck for
            ``abandon_ms``, settle its message, abandon it and start a fresh thread (False).
        abandon_ms: see above.
        tick_ms: the watchdog's longest sleep (bounds how late a timeout is noticed).
        report_load: called by the watchdog after each wake-up with the number of busy threads.
        prefetch: messages claimed beyond the free threads (see :class:`Feeder`).
        max_abandoned: how many stuck threads the group may abandon (each still holds its
            memory, and a task stuck in C code holds it for good); past that it stops, as
            after ``stop``, with :attr:`recycle` set, so that a fresh process replaces it
            (default: ``n_threads``).
        async_concurrency: how many ``async def`` tasks may run at once on the group's event
            loop (an :class:`AsyncLane`, started only when some task is ``async def``).
        governed_as: keep the process on one CPU while its work is interpreter-bound, as the
            group of this number in its pool (an :class:`AffinityGovernor`, where the system
            allows; None: leave the process's CPUs alone).

    Attributes:
        recycle: whether the group stopped because too many of its threads were abandoned.
    """

    def __init__(
        self,
        processor: MessageProcessor,
        *,
        n_threads: int,
        stop: StopSignal,
        heartbeat_ms: int,
        complete_only_on_thread_exit: bool = False,
        abandon_ms: int = 1_000,
        tick_ms: int = 100,
        report_load: Callable[[int], None] | None = None,
        prefetch: int = 0,
        max_abandoned: int | None = None,
        identity: Identity | None = None,
        registry_heartbeat_ms: int = 0,
        async_concurrency: int = 0,
        governed_as: int | None = None,
    ) -> None:
        self.processor = processor
        self.consumer = consumer = processor.consumer
        self.n_threads = n_threads
        self.stop = stop
        self.complete_only_on_thread_exit = complete_only_on_thread_exit
        self.abandon_ms = abandon_ms
        self.report_load = report_load
        self.max_abandoned = n_threads if max_abandoned is None else max_abandoned
        self.abandoned = 0
        self.recycle = False
        self.runs = RunTable()
        self.stats = WorkStats()
        self.heartbeat = Heartbeat.optional(
            consumer.broker.backend, identity, self.runs, self.stats, registry_heartbeat_ms
        )
        self.feeder = Feeder(
            self.processor, executors=n_threads, stop=stop, prefetch=prefetch,
            park_in_executors=True,
        )  # fmt: skip
        self.governor = AffinityGovernor.for_group(self.feeder, governed_as)
        self._numbers = itertools.count()
        self._run_numbers = itertools.count(1)
        self._workers: list[WorkerThread] = []
        self._watchdog_stop = StopSignal()
        self.watchdog = Watchdog(
            consumer.broker.backend, self, lease_ms=consumer.lease_ms,
            heartbeat_ms=heartbeat_ms, tick_ms=tick_ms,
        )  # fmt: skip
        self.lane = AsyncLane.for_group(self, async_concurrency)
        self._watchdog_thread = threading.Thread(
            target=self.watchdog.run, args=(self._watchdog_stop,), name="alsek-watchdog",
            daemon=True,
        )  # fmt: skip

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the feeder and the worker threads, then the watchdog, the registry heartbeat
        and the affinity governor: the first claim goes out before their first rounds take
        the interpreter (a backlog's first task starts a few ms sooner)."""
        if self.lane is not None:
            self.lane.start()
        self.feeder.start()
        for _ in range(self.n_threads):
            self._spawn()
        self._watchdog_thread.start()
        if self.heartbeat is not None:
            self.heartbeat.start()
        if self.governor is not None:
            self.governor.start()

    def _spawn(self) -> None:
        worker = WorkerThread(self._serve, next(self._numbers))
        self._workers.append(worker)
        worker.thread.start()

    def shutdown(self, grace_ms: int) -> None:
        """Stop claiming, let running tasks finish for up to ``grace_ms``, interrupt the rest
        with ``TerminationError`` and release their messages and any claimed but not started."""
        self.stop.set()
        self.feeder.wake()
        deadline = time.monotonic() + grace_ms / 1000
        self._join_workers(deadline)
        if self.lane is not None:
            self.lane.drain(deadline)
        if self.runs.snapshot():
            for running in self.runs.snapshot():
                self._interrupt(running, TerminationError, "the worker is shutting down")
            self._join_workers(time.monotonic() + min(self.abandon_ms, 1_000) / 1000)
        if self.lane is not None:
            self.lane.shutdown(timeout_s=min(self.abandon_ms, 1_000) / 1000)
        stuck = [r for r in self.runs.snapshot() if self._abandon(r)]
        release_quietly(self.consumer.backend, [r.message for r in stuck])
        self.feeder.close(timeout_s=5)
        if self.governor is not None:
            self.governor.stop()
        self._watchdog_stop.set()
        self._watchdog_thread.join(timeout=5)
        if self.heartbeat is not None:
            self.heartbeat.stop()

    def _join_workers(self, deadline: float) -> None:
        for worker in list(self._workers):
            # Neither an abandoned thread nor one parked in a blocking wait for work is waited for.
            while (
                worker.thread.is_alive()
                and not worker.retired
                and not self.feeder.parked_in(worker.thread)
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                worker.thread.join(min(remaining, 0.05))

    def _abandon(self, running: Running) -> bool:
        worker: WorkerThread = running.key
        return worker.interrupter is None or worker.interrupter.abandon(running.run)

    # -- the worker loop -----------------------------------------------------------------------

    def _serve(self, worker: WorkerThread) -> None:
        """The life of a worker thread: hand the last run's settlement to the feeder, take the
        next message from it, run it; until the feeder has no more or the thread is retired."""
        worker.interrupter = ThreadInterrupter()
        settlement: Settlement | None = None
        while not worker.retired:
            try:
                message = self.feeder.next(settlement)
                settlement = None
                if message is None:
                    return
                settlement = self._run(worker, message)
            except Exception:  # a worker thread must never die silently, nor for good
                log.exception(
                    "Worker thread %s failed; it carries on.", threading.current_thread().name
                )
                settlement = None
                if self.stop.wait(1.0):
                    return

    def _run(self, worker: WorkerThread, message: Message) -> Settlement | None:
        """Run ``message``; return how it ends (None: nothing left to settle here)."""
        task = self.processor.task_for(message)
        if self.lane is not None and task is not None and task.is_async:
            self.lane.submit(task, message)  # the lane settles it
            return None
        running = Running(
            message=message, key=worker, run=next(self._run_numbers),
            deadline_ms=self.consumer.backend.clock.now_ms() + message.timeout,
        )  # fmt: skip
        self.runs.add(running)
        self.stats.started(message)
        began, settlement = time.perf_counter(), None
        try:
            settlement = self._settle_run(worker, running, task)
            return settlement
        finally:
            if self.runs.discard(running):  # else abandoned: counted where it was settled
                self.stats.finished(message, settlement, time.perf_counter() - began)

    def _settle_run(
        self, worker: WorkerThread, running: Running, task: Task | None
    ) -> Settlement | None:
        message = running.message
        if task is None:
            return self.processor.unknown_task(message)
        self.processor.begin(task, message)
        assert worker.interrupter is not None
        outcome = worker.interrupter.execute(running.run, lambda: run_task(task, message))
        if outcome is None:  # abandoned: the watchdog settled it and started a new thread
            worker.retired = True
            return None
        if isinstance(outcome.error, TerminationError):
            release_quietly(self.consumer.backend, [message])
            return None
        running.settling = True
        settlement = settle_safely(task, message, outcome, self.processor.tasks)
        announce(task, settlement, outcome)
        return settlement

    # -- watchdog hooks --------------------------------------------------------------------------

    def running(self) -> list[Running]:
        """The runs in progress (for the watchdog)."""
        return self.runs.snapshot()

    def on_timeout(self, running: Running) -> None:
        """Raise ``TimeoutError`` in the thread running a message past its deadline."""
        reason = f"{running.message.summary} exceeded its timeout of {running.message.timeout} ms"
        self._interrupt(running, TimeoutError, reason)

    def on_revoke(self, uuid: str) -> None:
        """Raise ``RevokedError`` in the thread running message ``uuid``, if any."""
        for running in self.runs.by_uuid(uuid):
            self._interrupt(running, RevokedError, f"message {uuid} was revoked")

    def on_tick(self) -> None:
        """Abandon stuck interrupted threads (unless told not to) and report the load."""
        if not self.complete_only_on_thread_exit:
            self._abandon_stuck()
        if self.report_load is not None:
            self.report_load(len(self.runs))

    def _interrupt(self, running: Running, exc_type: type[BaseException], reason: str) -> None:
        worker: WorkerThread = running.key
        if worker.interrupter is not None and worker.interrupter.interrupt(
            running.run, exc_type, reason
        ):
            running.interrupted_at = time.monotonic()
            running.interrupt = exc_type

    def _abandon_stuck(self) -> None:
        now = time.monotonic()
        for running in self.runs.snapshot():
            since = running.interrupted_at
            worker: WorkerThread = running.key
            if since is None or now - since < self.abandon_ms / 1000:
                continue
            if worker.interrupter is None or not worker.interrupter.abandon(running.run):
                continue
            log.error("%s did not stop after an interrupt; abandoning its thread.",
                      running.message.summary)  # fmt: skip
            worker.retired = True
            self.runs.discard(running)
            self._settle_abandoned(running)
            self.abandoned += 1
            if self.abandoned > self.max_abandoned and not self.stop.is_set():
                log.error("%s threads of this process were abandoned (the most is %s); "
                          "recycling the process.", self.abandoned, self.max_abandoned)  # fmt: skip
                self.recycle = True
                self.stop.set()
                self.feeder.wake()
            if not self.stop.is_set():
                self._workers = [w for w in self._workers if not w.retired]
                self._spawn()

    def _settle_abandoned(self, running: Running) -> None:
        message = running.message
        if running.interrupt is TerminationError:
            release_quietly(self.consumer.backend, [message])
            return
        task = self.processor.tasks.get(message.task_name)
        exc_type = running.interrupt or TimeoutError
        error = exc_type(f"{message.summary} did not stop after an interrupt")
        outcome = Outcome.failure(error)
        settlement = settle_safely(task, message, outcome, self.processor.tasks)
        announce(task, settlement, outcome)
        self.stats.finished(message, settlement, None)
        self.processor.finish(settlement)
