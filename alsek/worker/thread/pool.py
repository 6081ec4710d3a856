"""The thread worker pool: process groups of threads, scaled with the load.

The supervisor (this process) runs no tasks and makes no per-message calls: each process group
claims for itself (see :class:`~alsek.worker.thread.group.ThreadGroup`) and reports how many of
its threads are busy in shared memory. The supervisor starts a new group when every group is full
and messages are waiting (up to ``n_processes``), stops groups that stayed idle (down to
``n_process_floor``), and replaces groups that died.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from alsek.domain.model.errors import BackendError, ValidationError
from alsek.worker.checks import default_process_count, non_negative, positive
from alsek.worker.lifecycle import Restarts, terminate
from alsek.worker.pool import WorkerPool
from alsek.worker.thread.child import RECYCLE_EXIT, run_child

if TYPE_CHECKING:
    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.worker")

#: Messages a group claims ahead per thread by default: a buffer that rarely runs dry, so that
#: threads take their next message without waiting for the feeder (each wait is a thread wake-up,
#: which a busy machine or a VM makes dear).
PREFETCH_PER_THREAD = 8
#: A group idle this long (ms) is stopped, unless the pool is at its floor.
GROUP_IDLE_MS = 30_000


class _Group:
    def __init__(self, process: Any, index: int) -> None:
        self.process = process
        self.index = index
        self.started_at = self.busy_at = time.monotonic()
        self.stopping = False


class ThreadWorkerPool(WorkerPool):
    """Runs tasks in threads, in up to ``n_processes`` process groups of ``n_threads`` threads.

    Args:
        tasks: the tasks to run (all on one broker); only those with ``mechanism="thread"`` run
            here (see :class:`~alsek.worker.pool.WorkerPool`).
        n_threads: threads per process group.
        n_processes: the most process groups at once (default: one per CPU).
        n_process_floor: groups kept running whatever the load (default 1).
        slot_wait_interval: how often (ms) the supervisor looks at the load.
        complete_only_on_thread_exit: after a timeout or revocation, keep the thread's slot until
            its task really unwinds (True), or abandon a thread that stays stuck for a second,
            settle its message and start a fresh thread (False, default).
        idle_group_ms: a process group idle this long (ms) is stopped, down to the floor.
        prefetch: messages each group claims beyond its free threads, so that a thread that
            finishes finds its next message waiting (0: claim only for free threads; default
            ``8 × n_threads``). They are given back to the queue when no thread has taken one
            for 50 ms.
        async_concurrency: how many ``async def`` tasks each process group runs at once on its
            event loop, beside its threads (default 100).
        **options: as for :class:`~alsek.worker.pool.WorkerPool` (``queues``, ``backoff``,
            ``lease_ms``, ``grace_period``, ...).
    """

    mechanism = "thread"

    def __init__(
        self,
        tasks: Iterable[Task],
        n_threads: int = 8,
        n_processes: int | None = None,
        n_process_floor: int = 1,
        slot_wait_interval: int = 50,
        complete_only_on_thread_exit: bool = False,
        idle_group_ms: int = GROUP_IDLE_MS,
        prefetch: int | None = None,
        async_concurrency: int = 100,
        **options: Any,
    ) -> None:
        super().__init__(tasks, **options)
        self.idle_group_ms = positive("idle_group_ms", idle_group_ms)
        self.n_threads = positive("n_threads", n_threads)
        self.n_processes = positive("n_processes", n_processes or default_process_count())
        if not isinstance(n_process_floor, int) or not 0 <= n_process_floor <= self.n_processes:
            raise ValidationError(
                f"n_process_floor must be between 0 and n_processes ({self.n_processes}), "
                f"got {n_process_floor!r}"
            )
        self.n_process_floor = n_process_floor
        self.slot_wait_interval = positive("slot_wait_interval", slot_wait_interval)
        self.complete_only_on_thread_exit = complete_only_on_thread_exit
        self._load = self.context.RawArray("q", self.n_processes)
        self._groups: dict[int, _Group] = {}
        self._restarts = Restarts()
        default = PREFETCH_PER_THREAD * self.n_threads
        self.prefetch = non_negative("prefetch", default if prefetch is None else prefetch)
        self._spec = self.spec(
            n_threads=self.n_threads,
            complete_only_on_thread_exit=complete_only_on_thread_exit,
            prefetch=self.prefetch,
            async_concurrency=positive("async_concurrency", async_concurrency),
        )

    @property
    def groups(self) -> int:
        """How many process groups are running."""
        return len(self._groups)

    def boot(self) -> None:
        """Start ``max(n_process_floor, 1)`` groups."""
        log.info(
            "Thread pool: up to %s process group(s) of %s thread(s) on queue(s) %s.",
            self.n_processes, self.n_threads, ", ".join(self.queues),
        )  # fmt: skip
        for _ in range(max(self.n_process_floor, 1)):
            self._start_group()

    def _start_group(self) -> None:
        index = next(i for i in range(self.n_processes) if i not in self._groups)
        self._load[index] = 0
        process = self.context.Process(
            target=run_child, args=(self._spec, index, self._load, os.getpid()),
            name=f"alsek-group-{index}", daemon=True,
        )  # fmt: skip
        process.start()
        self._groups[index] = _Group(process, index)
        log.info("Started process group %s (pid %s).", index, process.pid)

    def step(self) -> None:
        """Wait ``slot_wait_interval``, then replace dead groups and scale with the load."""
        self.stop_signal.wait(self.slot_wait_interval / 1000)
        if self.stop_signal.is_set():
            return
        self._reap()
        self._scale()

    def _reap(self) -> None:
        for index, group in list(self._groups.items()):
            if group.process.is_alive():
                continue
            group.process.join(0)
            recycled = group.process.exitcode == RECYCLE_EXIT
            if recycled:
                log.info("Process group %s (pid %s) stopped to be replaced.", index,
                         group.process.pid)  # fmt: skip
            elif not group.stopping:
                log.error("Process group %s (pid %s) died with exit code %s; its messages run "
                          "again when their leases lapse.", index, group.process.pid,
                          group.process.exitcode)  # fmt: skip
            del self._groups[index]
            self._load[index] = 0
            if self.metrics is not None:
                self.metrics.process_died(group.process.pid)
            if not group.stopping and not recycled:
                self._restarts.died(lived_s=time.monotonic() - group.started_at)
        while len(self._groups) < max(self.n_process_floor, 1) and self._restarts.due():
            self._start_group()

    def _scale(self) -> None:
        now = time.monotonic()
        live = [g for g in self._groups.values() if not g.stopping]
        for group in live:
            if self._load[group.index] > 0:
                group.busy_at = now
        full = all(self._load[g.index] >= self.n_threads for g in live)
        if full and len(self._groups) < self.n_processes and self._backlog():
            self._start_group()
            return
        idle = [g for g in live if now - g.busy_at >= self.idle_group_ms / 1000]
        if idle and len(live) > max(self.n_process_floor, 1):
            group = idle[-1]
            group.stopping = True
            terminate(group.process)
            log.info("Stopping idle process group %s.", group.index)

    def _backlog(self) -> bool:
        try:
            return any(self.broker.backend.depth(q) > 0 for q in self.queues)
        except BackendError as error:
            log.debug("Cannot read queue depths: %s", error)
            return False

    def shutdown(self) -> None:
        """SIGTERM every group; each finishes its tasks within the grace period and releases the
        rest. A group still alive after that (plus a margin) is killed."""
        for group in self._groups.values():
            group.stopping = True
            terminate(group.process)
        deadline = time.monotonic() + self.grace_period / 1000 + 5
        for group in self._groups.values():
            group.process.join(max(deadline - time.monotonic(), 0))
            if group.process.is_alive():
                log.error("Process group %s did not stop in time; killing it.", group.index)
                group.process.kill()
                group.process.join(5)
        self._groups.clear()
