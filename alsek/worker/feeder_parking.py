"""Where a :class:`~alsek.worker.feeder.Feeder` waits for work when its executors may do it:
in one of them (leader/follower).

When the queues are empty, the feeder's executors are idle and it parks in ``wait_and_claim``
(a blocking wait with the claim sent behind it). Parked in the feeder's own thread, a submission
wakes the feeder, which hands the message to an executor: two thread wake-ups, one after the
other, before the task starts. With ``park_in_executors`` the feeder asks a waiting executor to
make that call instead; the executor runs the first message it gets and buffers the rest for the
others, so a submission reaches an idle worker's task with one wake-up fewer. The feeder waits
meanwhile (while parked, executors settle their own messages, as before) and carries on when the
executor is back.

Only executors that a shutdown need not wait for while they are parked may do this: a thread
group's worker threads (its shutdown skips a parked thread, as :meth:`Feeder.close` skips a parked
feeder). A parked executor's blocked wait ends with its process, whose connection closing drops
the claim queued behind it; a claim that comes back after the feeder closed is released.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from alsek.domain.model.message import Message
from alsek.domain.services.consumer import Consumer
from alsek.worker.leases import release_quietly
from alsek.worker.lifecycle import StopSignal


class FeederParking:
    """The executor-parking side of :class:`~alsek.worker.feeder.Feeder` (its state is the
    feeder's)."""

    consumer: Consumer
    stop: StopSignal
    park_in_executors: bool
    _lock: threading.Lock
    _cond: threading.Condition
    _work: threading.Condition
    _buffer: deque[tuple[Message, float]]
    _waiting: int
    _parked: bool
    _closed: bool
    _park_want: int  # a park an executor is asked to make: how many messages to claim (0: none)
    _parked_thread: threading.Thread | None  # the executor parked now, if any
    _stash: Callable[..., bool]  # Feeder._stash: buffer claimed messages, or False once closed
    on_unpark: Callable[[], None] | None

    @property
    def parked(self) -> bool:
        """Whether the feeder (or an executor for it) waits for work now."""
        return self._parked

    def _unparked(self) -> None:
        """Tell whoever listens (``on_unpark``) that a park ended."""
        if self.on_unpark is not None:
            self.on_unpark()

    def parked_in(self, thread: threading.Thread) -> bool:
        """Whether ``thread`` (an executor) is parked in ``wait_and_claim`` for the feeder."""
        return self._parked_thread is thread

    def _park_in_executor(self, want: int, stop_check_s: float) -> bool:
        """In the feeder's thread, once it is parked: ask a waiting executor to wait for work
        and claim ``want`` messages, and wait until it is back (or the feeder stops or closes),
        looking at the stop signal every ``stop_check_s``. Returns False, having asked nothing,
        if no executor waits or executors may not park."""
        if not self.park_in_executors:
            return False
        with self._lock:
            if not self._waiting or self._closed:
                return False
            self._park_want = want
            self._cond.notify()
            while self._parked and not self._closed and not self.stop.is_set():
                self._work.wait(stop_check_s)
            self._park_want = 0  # withdrawn if no executor took it before the stop
            return True

    def _park_here(self) -> None:
        """In an executor's thread, the lock held (released while waiting): make the park the
        feeder asked for and buffer what it claims (the caller takes the first at once)."""
        want, self._park_want = self._park_want, 0
        self._parked_thread = threading.current_thread()
        self._lock.release()
        try:
            claimed = self.consumer.wait_and_claim(want)
        finally:
            self._lock.acquire()
            self._parked_thread = None
            self._parked = False
            self._work.notify()
            self._unparked()
        if not self._stash(claimed, wake=max(len(claimed) - 1, 0)):  # closed meanwhile
            self._lock.release()
            try:
                release_quietly(self.consumer.backend, claimed)
            finally:
                self._lock.acquire()
