"""The asyncio lane of a thread group: one event loop, in a thread of its own, running up to
``--async-concurrency`` ``async def`` tasks at once beside the group's worker threads.

A worker thread that takes a message of an ``async def`` task from the feeder hands it to the
lane (waiting while the lane is full, which holds the feeder's claims back) and goes on. The
lane runs it as the thread would: the same hooks (:func:`~alsek.domain.services.processing.arun_task`),
the same settlement (``settle_safely``, ``announce``), the acknowledgement through the feeder's
next batch (else applied by the processor off the loop). The group's watchdog renews its lease
and sends timeouts and revocations as for a thread; here they cancel the coroutine, which then
fails with the ``TimeoutError`` or ``RevokedError`` that caused it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from alsek.domain.model.errors import TerminationError
from alsek.domain.model.message import Message
from alsek.domain.model.outcome import Outcome
from alsek.domain.services.processing import Settlement, announce, arun_task, settle_safely
from alsek.worker.leases import Running, release_quietly

if TYPE_CHECKING:
    from alsek.domain.services.task import Task
    from alsek.worker.thread.group import ThreadGroup

log = logging.getLogger("alsek.worker")

#: How often (s) a worker thread waiting for a free slot looks at the stop signal.
_SLOT_CHECK_S = 0.1
#: Threads that apply settlements the feeder does not take (retries, failures), off the loop.
_SETTLERS = 4


class LaneRun:
    """One coroutine run: the key of its :class:`Running` and the watchdog's interrupter."""

    retired = False

    def __init__(self, lane: AsyncLane, run: int) -> None:
        self.lane = lane
        self.run = run
        self.interrupter = self
        self.task: asyncio.Task[Outcome] | None = None
        self.sent: tuple[type[BaseException], str] | None = None
        self.done = False

    def interrupt(self, run: int, exc_type: type[BaseException], reason: str) -> bool:
        """Cancel the coroutine, to fail with ``exc_type(reason)``; at most once per run."""
        if run != self.run or self.done or self.sent is not None:
            return False
        self.sent = (exc_type, reason)
        self.lane.loop.call_soon_threadsafe(self._cancel)
        log.warning("Cancelled an async task: %s", reason)
        return True

    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def abandon(self, run: int) -> bool:
        """A coroutine is never abandoned: it stops at its next ``await`` once cancelled."""
        return False

    async def guard(self, awaitable: Awaitable[Any]) -> Any:
        """Await the task's coroutine, turning this run's cancellation into its cause."""
        try:
            return await awaitable
        except asyncio.CancelledError:
            if self.sent is None:
                raise
            exc_type, reason = self.sent
            raise exc_type(reason) from None


class AsyncLane:
    """The event loop of one thread group (see the module).

    Args:
        group: the thread group it runs beside (its processor, runs, feeder and stop signal).
        concurrency: the most coroutines running at once.
    """

    def __init__(self, group: ThreadGroup, concurrency: int) -> None:
        self.group = group
        self.concurrency = concurrency
        self.slots = threading.BoundedSemaphore(concurrency)
        self.loop = asyncio.new_event_loop()
        self._numbers = itertools.count(1)
        self._settlers = ThreadPoolExecutor(_SETTLERS, thread_name_prefix="alsek-lane-settle")
        self._thread = threading.Thread(target=self._main, name="alsek-async-lane", daemon=True)

    @classmethod
    def for_group(cls, group: ThreadGroup, concurrency: int) -> AsyncLane | None:
        """A lane for ``group`` if any of its tasks is ``async def`` (and ``concurrency`` > 0)."""
        if concurrency <= 0 or not any(t.is_async for t in group.processor.tasks.values()):
            return None
        return cls(group, concurrency)

    def start(self) -> None:
        """Start the loop's thread."""
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, task: Task, message: Message) -> None:
        """Run ``message`` of the ``async def`` ``task`` on the loop: called by a worker thread,
        which waits here while the lane is full (the message's lease is renewed meanwhile).
        With the group stopping, the message is given back instead."""
        key = LaneRun(self, next(self._numbers))
        clock = self.group.consumer.backend.clock
        running = Running(message=message, key=key, run=key.run,
                          deadline_ms=clock.now_ms() + message.timeout)  # fmt: skip
        self.group.runs.add(running)
        while not self.slots.acquire(timeout=_SLOT_CHECK_S):
            if self.group.stop.is_set():
                self.group.runs.discard(running)
                release_quietly(self.group.consumer.backend, [message])
                return
        running.deadline_ms = clock.now_ms() + message.timeout  # it starts now
        try:
            self.group.stats.started(message)
            self.group.processor.begin(task, message)
            asyncio.run_coroutine_threadsafe(self._run(task, running), self.loop)
        except BaseException:
            self.group.runs.discard(running)
            self.slots.release()
            raise

    async def _run(self, task: Task, running: Running) -> None:
        key: LaneRun = running.key
        message = running.message
        try:
            key.task = asyncio.current_task()
            if key.sent is not None:  # interrupted before it started
                raise key.sent[0](key.sent[1])
            outcome = await arun_task(task, message, key.guard)
        except asyncio.CancelledError:  # cancelled outside the task's own awaits
            exc_type, reason = key.sent or (TerminationError, "cancelled")
            outcome = Outcome.failure(exc_type(reason))
        except BaseException as error:
            outcome = Outcome.failure(error)
        key.done = True
        settlement = None
        try:
            settlement = await self._conclude(task, running, outcome)
        except Exception:  # the lane must never lose its slot
            log.exception("Could not settle %s.", message.summary)
        finally:
            runtime_ms = outcome.runtime_ms
            self.group.stats.finished(
                message, settlement, None if runtime_ms is None else runtime_ms / 1000
            )
            self.group.runs.discard(running)
            self.slots.release()

    async def _conclude(self, task: Task, running: Running, outcome: Outcome) -> Settlement | None:
        """Settle the run; how it ended (None: given back unsettled)."""
        message = running.message
        if isinstance(outcome.error, TerminationError):
            await self._off_loop(release_quietly, self.group.consumer.backend, [message])
            return None
        running.settling = True
        processor = self.group.processor
        settlement = settle_safely(task, message, outcome, processor.tasks)
        announce(task, settlement, outcome)
        if not self.group.feeder.hand_over(settlement):
            await self._off_loop(processor.finish, settlement)
        return settlement

    async def _off_loop(self, function: Any, *args: Any) -> Any:
        return await self.loop.run_in_executor(self._settlers, function, *args)

    def busy(self) -> int:
        """How many coroutine runs are in progress (for the load report)."""
        return sum(1 for r in self.group.runs.snapshot() if isinstance(r.key, LaneRun))

    def drain(self, deadline: float) -> None:
        """Wait until no coroutine runs, or until ``deadline`` (``time.monotonic()``)."""
        while self.busy() and time.monotonic() < deadline:
            time.sleep(0.01)

    def shutdown(self, timeout_s: float) -> None:
        """After the group interrupted its runs: wait up to ``timeout_s`` for the coroutines to
        settle, then stop the loop."""
        deadline = time.monotonic() + timeout_s
        self.drain(deadline)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=max(deadline - time.monotonic(), 0.1))
        self._settlers.shutdown(wait=False)
