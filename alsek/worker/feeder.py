"""The one thread of a worker process that claims and acknowledges for its executors.

Executors (a thread group's worker threads, or a process pool's dispatcher threads) hand each finished
acknowledgement to the feeder and take their next message from its buffer: while there is work
they never wait on Redis for the queue's sake. The feeder sends whatever piled up in one round trip
(``ack_many_and_claim``): every pending acknowledgement, and a claim for the executors that are
free plus ``prefetch`` more. Under load one round trip serves many tasks. An acknowledgement
leaves as soon as an executor needs a message, and at the latest ``ack_delay_ms`` (2 ms) after
it was handed over, so a result is never held back by other runs.

When the queues are empty the feeder parks in ``wait_and_claim`` (a blocking wait with the claim
sent behind it: no polling, and a submission reaches it in one round trip), or has a waiting
executor park there and run what comes (``park_in_executors``); meanwhile executors settle their
own messages. Retries and failures are always settled by the executor. Prefetched
messages are handed out only while fresh (under half a lease old), and given back to the queue
when no executor has taken one for ``hold_ms``: a long task never sits on work that another
worker could run, while executors that keep taking messages keep them, however slowly a busy
machine runs their tasks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from alsek.domain.model.message import Message
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.processing import Settlement, Verdict
from alsek.worker.feeder_closing import FeederClosing
from alsek.worker.feeder_parking import FeederParking
from alsek.worker.leases import release_quietly
from alsek.worker.lifecycle import StopSignal

log = logging.getLogger("alsek.worker")

#: Most acknowledgements sent in one round trip.
MAX_BATCH = 64
#: Longest wait (s) before the stop signal is looked at again (a signal handler cannot notify).
STOP_CHECK_S = 0.1
#: Pause (s) after an unexpected error in the feeder thread.
RESTART_PAUSE_S = 1.0


class Feeder(FeederClosing, FeederParking):
    """Claims for and acknowledges on behalf of ``executors`` executors of one process.

    Args:
        processor: settles messages (its consumer claims and waits for work).
        executors: how many executors take messages.
        stop: once set, no more claims; waiting executors get None.
        prefetch: messages claimed beyond the free executors (0: claim only for free ones).
        hold_ms: how long prefetched messages may wait while no executor takes one.
        ack_delay_ms: how long an acknowledgement may wait for others to share its round trip
            when no executor is waiting for a message.
        park_in_executors: when the queues are empty, a waiting executor waits for work itself
            and runs the first message it gets (see :mod:`alsek.worker.feeder_parking`); for
            executors that a shutdown does not wait for while :meth:`parked_in`.
    """

    def __init__(
        self,
        processor: MessageProcessor,
        *,
        executors: int,
        stop: StopSignal,
        prefetch: int = 0,
        hold_ms: int = 50,
        ack_delay_ms: float = 2.0,
        park_in_executors: bool = False,
    ) -> None:
        self.processor = processor
        self.consumer = processor.consumer
        self.executors = executors
        self.stop = stop
        self.prefetch = prefetch
        self.hold_s = hold_ms / 1000
        self.fresh_s = self.consumer.lease_ms / 2000
        self.ack_delay_s = ack_delay_ms / 1000
        self.park_in_executors = park_in_executors
        self._acks_since = 0.0
        self._taken_at = 0.0  # when an executor last took a message
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)  # executors wait here for messages
        self._work = threading.Condition(self._lock)  # the feeder waits here for work
        self._buffer: deque[tuple[Message, float]] = deque()
        self._acks: list[Settlement] = []
        self._waiting = 0
        self._wake_at = 0.0  # when the waiting feeder wakes by itself (0: it is not waiting)
        self._parked = False
        self.parks = 0  # how many times the feeder parked (an affinity governor reads it)
        self.on_unpark: Callable[[], None] | None = None  # called when a park ends
        self._park_want = 0
        self._parked_thread: threading.Thread | None = None
        self._closed = False
        self._prefetching = prefetch > 0
        self._thread = threading.Thread(target=self._main, name="alsek-feeder", daemon=True)

    # -- executors' side -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the feeder thread."""
        self._thread.start()

    def next(self, finished: Settlement | None = None) -> Message | None:
        """Hand over the settlement of the caller's last run (if any) and take its next message.

        An acknowledgement goes to the next round trip; anything else (or any settlement while
        the feeder is parked or closed) is settled here, in the caller's thread.

        Returns:
            The next message, or None once ``stop`` is set (or the feeder closed).
        """
        with self._cond:
            if finished is None or self._queue_ack(finished):
                return self._wait_for_message()
        self.processor.finish(finished)
        with self._cond:
            return self._wait_for_message()

    def hand_over(self, settlement: Settlement) -> bool:
        """Queue an acknowledgement for the next round trip without taking a message (the
        asyncio lane's way); False: the caller settles it (as for :meth:`next`)."""
        with self._cond:
            queued = self._queue_ack(settlement)
            self._work.notify()
            return queued

    def _queue_ack(self, settlement: Settlement) -> bool:
        """Queue an acknowledgement for the next round trip (lock held); False: the caller
        settles it itself (not an acknowledgement, or the feeder is parked or closed)."""
        if settlement.verdict is not Verdict.ACK or self._parked or self._closed:
            return False
        if not self._acks:
            self._acks_since = time.monotonic()
        self._acks.append(settlement)
        self._nudge()
        return True

    def _wait_for_message(self) -> Message | None:
        """Count the caller as waiting (the feeder claims for it) until it has a message."""
        self._waiting += 1
        try:
            message = self._take()
        finally:
            self._waiting -= 1
        self._nudge()
        return message

    def _nudge(self) -> None:
        """Wake the feeder only if it sleeps past something it must do (lock held): a claim,
        acknowledgements falling due, prefetched messages to give back. Under load it then
        wakes on its own acknowledgement timer, once per batch, not once per task: every
        wake-up is a thread switch and a fight for the GIL with the executors."""
        if not self._wake_at:
            return  # not waiting: it looks at everything before it sleeps again
        if self._want():
            due = 0.0
        elif self._acks:
            due = 0.0 if len(self._acks) >= MAX_BATCH else self._acks_since + self.ack_delay_s
        else:
            due = float("inf")
        if self._buffer and not self._waiting:
            due = min(due, self._held_since() + self.hold_s)
        if due < self._wake_at:
            self._wake_at = 0.0
            self._work.notify()

    def wake(self) -> None:
        """Wake the feeder and every waiting executor (after ``stop`` was set)."""
        with self._lock:
            self._cond.notify_all()
            self._work.notify_all()

    def _take(self) -> Message | None:
        while not self.stop.is_set():
            while self._buffer:
                message, claimed_at = self._buffer.popleft()
                self._taken_at = now = time.monotonic()
                if now - claimed_at < self.fresh_s:
                    return message
                log.warning("%s waited too long for an executor; its lease will lapse.",
                            message.summary)  # fmt: skip
            if self._closed:
                return None
            if self._park_want:
                self._park_here()
                continue
            self._prefetching = self.prefetch > 0
            self._nudge()
            self._cond.wait(STOP_CHECK_S)
        return None

    def _held_since(self) -> float:
        """Since when the buffered messages have waited with no executor taking one."""
        return max(self._buffer[0][1], self._taken_at)

    # -- the feeder thread -----------------------------------------------------------------------

    def _want(self) -> int:
        """How many messages to claim now: enough for every waiting executor (plus the
        prefetch), or a prefetch refill once the buffer is down to half of it."""
        extra = self.prefetch if self._prefetching else 0
        free = min(self._waiting, self.executors)
        if free or len(self._buffer) * 2 <= extra:
            return max(0, free + extra - len(self._buffer))
        return 0

    def _main(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    acks, want = self._await_work()
                    if acks or want:
                        self._exchange(acks, want)
                except Exception:  # never die for good: the executors depend on the feeder
                    log.exception("The feeder failed; it carries on in %s s.", RESTART_PAUSE_S)
                    self.stop.wait(RESTART_PAUSE_S)
        finally:
            self._close()

    def _await_work(self) -> tuple[list[Settlement], int]:
        """Wait until there are executors to claim for, or acknowledgements that waited
        ``ack_delay_ms`` (or fill a batch). Returns the acknowledgements and the claim size, or
        ``([], -1)`` when the prefetched messages are to be given back."""
        with self._lock:
            while not self.stop.is_set():
                want, now = self._want(), time.monotonic()
                acks_due = self._acks and (
                    len(self._acks) >= MAX_BATCH or now - self._acks_since >= self.ack_delay_s
                )
                if want or acks_due:
                    acks = self._acks[:MAX_BATCH]
                    del self._acks[:MAX_BATCH]
                    self._acks_since = now
                    return acks, want
                timeout = STOP_CHECK_S
                if self._acks:
                    timeout = min(timeout, self.ack_delay_s - (now - self._acks_since))
                if self._buffer and self._waiting == 0:
                    held = now - self._held_since()
                    if held >= self.hold_s:
                        return [], -1
                    timeout = min(timeout, self.hold_s - held)
                self._wake_at = now + timeout
                self._work.wait(timeout)
                self._wake_at = 0.0
            return [], 0

    def _exchange(self, acks: list[Settlement], want: int) -> None:
        if want < 0:
            self._give_back()
            return
        if acks:
            claimed = self.processor.finish_acks(acks, claim_next=want)
        else:
            claimed = self.consumer.claim(want)
        if self._deliver(claimed, parking=want > 0 and not claimed) and not (
            self._park_in_executor(want, STOP_CHECK_S)
        ):
            self._deliver(self._park(want), parking=False)

    def _deliver(self, claimed: list[Message], *, parking: bool) -> bool:
        """Buffer ``claimed`` for the executors (release it if closed); with ``parking``, mark the
        feeder parked unless acknowledgements are waiting. Returns whether it parked."""
        with self._lock:
            stashed = self._stash(claimed, wake=len(claimed))
            if stashed:
                if parking and not self._waiting:
                    # Only a prefetch refill found nothing: no executor needs work, so do not
                    # park (buffered messages must stay free to go back after ``hold_ms``).
                    self._prefetching = parking = False
                self._parked = parking and not self._acks
                self.parks += self._parked
        if not stashed:
            release_quietly(self.consumer.backend, claimed)
            return False
        return self._parked

    def _stash(self, claimed: list[Message], *, wake: int) -> bool:
        """Buffer ``claimed`` and wake ``wake`` waiting executors (lock held). Returns False, having
        buffered nothing, once the feeder is closed: the caller then releases ``claimed``."""
        if self._closed:
            return False
        now = time.monotonic()
        self._buffer.extend((message, now) for message in claimed)
        self._cond.notify(wake)
        return True

    def _park(self, want: int) -> list[Message]:
        """Wait for work and claim ``want`` messages (one round trip in Redis)."""
        try:
            return self.consumer.wait_and_claim(want)
        finally:
            with self._lock:
                self._parked = False
            self._unparked()

    def _give_back(self) -> None:
        """Every executor stayed busy: return the prefetched messages and stop prefetching
        until an executor is free again."""
        with self._cond:
            held = self._take_buffer()
            self._prefetching = False
        release_quietly(self.consumer.backend, held)
