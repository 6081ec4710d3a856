"""The process pool in reuse mode (``max_tasks_per_child=0``): warm children that claim for
themselves.

``n_processes`` warm children each run one message at a time, fed by their own feeder (see
:mod:`alsek.worker.process.warm_child`): no fork and no round trip to the supervisor per task.
The supervisor (this process) reads their shared-memory slots every ``prune_interval`` ms: it
renews the leases of every running message in one call, kills a child whose task passed its
deadline or was revoked (then retries or fails that message) and replaces children that died.
A task that times out or crashes takes only its own process with it; globals a task changes
stay for the next tasks of that child (what the fork-per-task default prevents).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from alsek.domain.model.errors import BackendError, RevokedError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name
from alsek.domain.model.outcome import Outcome
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.processing import announce, settle_safely
from alsek.worker.leases import Running, release_quietly
from alsek.worker.lifecycle import Restarts, StopSignal, terminate
from alsek.worker.process.pool import ProcessWorkerPool
from alsek.worker.process.slots import SlotState, SlotTable, SlotView
from alsek.worker.process.warm_child import run_warm_child
from alsek.worker.watchdog import Watchdog

log = logging.getLogger("alsek.worker")

_NEVER = 2**62
_BUSY = (SlotState.RUNNING, SlotState.SETTLING)


class WarmProcessPool(ProcessWorkerPool):
    """What ``ProcessWorkerPool(..., max_tasks_per_child=0)`` builds (same arguments; each
    child claims ``prefetch`` ahead, 64 by default)."""

    default_prefetch = 64

    def _build(self) -> None:
        self.slots = SlotTable(self.n_processes, self.context)
        self._children: list[Any] = [None] * self.n_processes
        self._started_at = [0.0] * self.n_processes
        self._restart = [Restarts() for _ in range(self.n_processes)]
        self._runs: dict[int, Running] = {}
        self._spec = self.spec(n_threads=1, prefetch=self.prefetch, max_tasks_per_child=0)
        consumer = Consumer(
            self.broker, self.queues, self.backoff, lease_ms=self.lease_ms,
            stop_signal=self.stop_signal, tasks=self.claim_tasks,
        )  # fmt: skip
        self.processor = MessageProcessor(
            consumer, self.tasks, unknown_task_window_ms=self.unknown_task_window
        )
        self.watchdog = Watchdog(
            self.broker.backend, self, lease_ms=self.lease_ms,
            heartbeat_ms=self.heartbeat_ms, tick_ms=self.prune_interval,
        )  # fmt: skip

    # -- supervision -----------------------------------------------------------------------------

    def boot(self) -> None:
        """Start every child."""
        log.info("Process pool: %s warm process(es) on queue(s) %s, reused without limit.",
                 self.n_processes, ", ".join(self.queues))  # fmt: skip
        for index in range(self.n_processes):
            self._start(index)

    @property
    def ready(self) -> bool:
        """Whether every child is running."""
        return all(p is not None and p.is_alive() for p in self._children)

    def _start(self, index: int) -> None:
        self.slots.reset(index)
        process = self.context.Process(
            target=run_warm_child, args=(self._spec, index, self.slots, os.getpid()),
            name=f"alsek-process-{index}", daemon=True,
        )  # fmt: skip
        process.start()
        self._children[index] = process
        self._started_at[index] = time.monotonic()

    def running(self) -> list[Running]:
        """The messages the children run (for the watchdog)."""
        runs: dict[int, Running] = {}
        for index in range(self.n_processes):
            view = self.slots.read(index)
            if view.state not in _BUSY:
                continue
            known = self._runs.get(index)
            if known is None or known.run != view.sequence:
                deadline = view.deadline_ms if view.state is SlotState.RUNNING else _NEVER
                known = Running(message=view.stub(), deadline_ms=deadline, key=index,
                                run=view.sequence, settling=view.state is SlotState.SETTLING)  # fmt: skip
            runs[index] = known
        self._runs = runs
        return list(runs.values())

    def on_timeout(self, running: Running) -> None:
        """Kill the child whose task passed its deadline; retry or fail the message."""
        error = TimeoutError(f"{running.message.summary} exceeded its timeout")
        self._end_run(running.key, running.run, error)

    def on_revoke(self, uuid: str) -> None:
        """Kill the child running message ``uuid`` and fail the message."""
        for running in self.running():
            if running.message.uuid == uuid and not running.settling:
                self._end_run(running.key, running.run, RevokedError(f"message {uuid} was revoked"))

    def on_tick(self) -> None:
        """Replace children that died (a message one was running fails as a crash); a child
        that keeps dying at start is restarted after a growing pause."""
        for index, process in enumerate(self._children):
            if process is not None and process.is_alive():
                continue
            if process is not None:
                self._buried(index, process)
            if not self.stop_signal.is_set() and self._restart[index].due():
                self._start(index)

    def _buried(self, index: int, process: Any) -> None:
        process.join(0)
        view = self.slots.read(index)
        if not self.stop_signal.is_set():
            log.error("Process child %s (pid %s) died with exit code %s.",
                      index, process.pid, process.exitcode)  # fmt: skip
        self._settle_dead(
            view, ChildProcessError(f"the worker process died (exit code {process.exitcode})")
        )
        self._children[index] = None
        self._restart[index].died(lived_s=time.monotonic() - self._started_at[index])

    # -- ending runs -----------------------------------------------------------------------------

    def _end_run(self, index: int, sequence: int, error: BaseException) -> None:
        process = self._children[index]
        if process is None or self.slots.read(index).sequence != sequence:
            return  # gone, or the run ended on its own meanwhile
        log.warning("Killing process child %s (pid %s): %s", index, process.pid, error)
        process.kill()
        process.join(5)
        view = self.slots.read(index)
        # The judged run may have finished just before the kill: the next one was cut short.
        self._settle_dead(view, error if view.sequence == sequence else None)
        self._children[index] = None
        if not self.stop_signal.is_set():
            self._start(index)

    def _settle_dead(self, view: SlotView, error: BaseException | None) -> None:
        """Settle the message a dead child held: fail or retry it with ``error`` if it was
        running, else (settling, or cut short innocently) give it back to the queue."""
        if view.state not in _BUSY:
            return
        if error is None or view.state is SlotState.SETTLING:
            release_quietly(self.broker.backend, [view.stub()])
            return
        message = self._load(view)
        if message is None:
            return
        task = self.tasks.get(message.task_name)
        outcome = Outcome.failure(error)
        settlement = settle_safely(task, message, outcome, self.tasks)
        announce(task, settlement, outcome)
        self.processor.finish(settlement)

    def _load(self, view: SlotView) -> Message | None:
        try:
            data = self.broker.backend.get(message_name(view.stub()), default=None)
            return None if data is None else Message.from_data(data)
        except (BackendError, ValueError) as error:
            log.error("Cannot load %s to settle it (%s); its lease will lapse.", view.uuid, error)
            return None

    # -- shutdown --------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """SIGTERM every child, keep renewing leases while running tasks finish (within the
        grace period; idle children exit at once), then kill the rest and release their
        messages."""
        self.stop_signal.set()
        for process in self._children:
            if process is not None:
                terminate(process)
        grace = StopSignal.after(self.grace_period / 1000)
        while not grace.is_set() and self._any_child_alive():
            self.watchdog.step(grace)
        for index, process in enumerate(self._children):
            if process is not None and process.is_alive():
                view = self.slots.read(index)
                process.kill()
                process.join(5)
                self._settle_dead(view, None)
        self.watchdog.close()

    def _any_child_alive(self) -> bool:
        return any(p is not None and p.is_alive() for p in self._children)
