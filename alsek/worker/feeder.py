"""The one thread of a worker process that claims and acknowledges for its executors.

Executors (worker threads, or a process pool's dispatchers) hand each acknowledgement to the
feeder and take their next message from its buffer: they never wait on Redis for the queue. The
feeder sends what piled up in one round trip (``ack_many_and_claim``): the acknowledgements (at
the latest ``ack_delay_ms`` after they were handed over) and a claim for the free executors plus
``prefetch``. Idle, it parks in ``wait_and_claim`` (no polling; executors then settle their own
messages). Retries and failures are settled by the executor. Prefetched messages run only while
fresh (under half a lease old) and go back to the queue when no executor has taken one for
``hold_ms``: a long task never sits on work another worker could run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from alsek.domain.model.message import Message
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.processing import Settlement, Verdict
from alsek.worker.leases import release_quietly
from alsek.worker.lifecycle import StopSignal

log = logging.getLogger("alsek.worker")

#: Most acknowledgements sent in one round trip.
MAX_BATCH = 64
#: Longest wait (s) before the stop signal is looked at again (a signal handler cannot notify).
STOP_CHECK_S = 0.1
#: Pause (s) after an unexpected error in the feeder thread.
RESTART_PAUSE_S = 1.0


class Feeder:
    """Claims for and acknowledges on behalf of ``executors`` executors of one process.

    Args:
        processor: settles messages (its consumer claims and waits for work).
        executors: how many executors take messages.
        stop: once set, no more claims; waiting executors get None.
        prefetch: messages claimed beyond the free executors (0: claim only for free ones).
        hold_ms: how long prefetched messages may wait while no executor takes one.
        ack_delay_ms: how long an acknowledgement may wait to share a round trip with others.
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
    ) -> None:
        self.processor = processor
        self.consumer = processor.consumer
        self.executors = executors
        self.stop = stop
        self.prefetch = prefetch
        self.hold_s = hold_ms / 1000
        self.fresh_s = self.consumer.lease_ms / 2000
        self.ack_delay_s = ack_delay_ms / 1000
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
            The next message, or None once ``stop`` is set (or the feeder closed)."""
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
        """Queue an acknowledgement (lock held); False: the caller settles it (not an ack, or
        the feeder is parked or closed)."""
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
        """Wake the feeder (lock held) only if it sleeps past what it must do: under load it
        wakes on its acknowledgement timer, once per batch, not once per task."""
        if not self._wake_at:
            return  # not waiting: it looks at everything before it sleeps again
        due = 0.0 if self._want() or len(self._acks) >= MAX_BATCH else float("inf")
        if self._acks:
            due = min(due, self._acks_since + self.ack_delay_s)
        if self._buffer and not self._waiting:
            due = min(due, max(self._buffer[0][1], self._taken_at) + self.hold_s)
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
            self._prefetching = self.prefetch > 0
            self._nudge()
            self._cond.wait(STOP_CHECK_S)
        return None

    # -- the feeder thread -----------------------------------------------------------------------

    def _want(self) -> int:
        """How many to claim: for the waiting executors plus the prefetch, or a refill at half."""
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
        """Wait for executors to claim for or acknowledgements due; returns them and the claim
        size, or ``([], -1)`` when the prefetched messages are to be given back."""
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
                    held = now - max(self._buffer[0][1], self._taken_at)
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
        if self._deliver(claimed, parking=want > 0 and not claimed):
            self._deliver(self._park(want), parking=False)

    def _deliver(self, claimed: list[Message], *, parking: bool) -> bool:
        """Buffer ``claimed`` (released if closed); with ``parking``, park unless acks wait."""
        now = time.monotonic()
        with self._lock:
            closed = self._closed
            if not closed:
                self._buffer.extend((message, now) for message in claimed)
                self._cond.notify(len(claimed))
                if parking and not self._waiting:
                    # A refill found nothing and no executor waits: do not park (see hold_ms).
                    self._prefetching = parking = False
                self._parked = parking and not self._acks
        if closed:
            release_quietly(self.consumer.backend, claimed)
            return False
        return self._parked

    def _park(self, want: int) -> list[Message]:
        """Wait for work and claim ``want`` messages (one round trip in Redis)."""
        try:
            return self.consumer.wait_and_claim(want)
        finally:
            with self._lock:
                self._parked = False

    def _give_back(self) -> None:
        """Every executor stayed busy: return the prefetched messages and stop prefetching
        until an executor is free again."""
        with self._cond:
            held = self._empty_buffer()
            self._prefetching = False
        release_quietly(self.consumer.backend, held)

    # -- closing ---------------------------------------------------------------------------------

    def _close(self) -> None:
        """Send the last acknowledgements, mark the feeder closed, release the buffer."""
        while True:
            with self._cond:
                acks, self._acks = self._acks, []
                if not acks:
                    self._closed = True
                    held = self._empty_buffer()
                    self._cond.notify_all()
                    break
            self.processor.finish_acks(acks, claim_next=0)
        release_quietly(self.consumer.backend, held)

    def close(self, timeout_s: float) -> None:
        """After ``stop``: wait up to ``timeout_s`` for the feeder to send what it has and release
        its buffer. A parked feeder is not waited for (its buffer is released here); its blocked
        wait ends with the process, whose closing connection drops the claim behind it."""
        self.wake()
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive() and time.monotonic() < deadline:
            with self._cond:
                if self._parked:
                    held = self._empty_buffer()
                    self._closed = True
                    self._cond.notify_all()
                    break
            self._thread.join(0.01)
        else:
            return
        release_quietly(self.consumer.backend, held)

    def _empty_buffer(self) -> list[Message]:
        held = [message for message, _ in self._buffer]
        self._buffer.clear()
        return held

    def pending(self) -> list[Message]:
        """The prefetched messages no executor has taken yet."""
        with self._cond:
            return [message for message, _ in self._buffer]
