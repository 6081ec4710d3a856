"""Idle worker threads of a process group: one claims for all of them, the rest wait.

A thread with nothing to run calls :meth:`IdleThreads.acquire`. If another idle thread is already
leading, it waits to be handed a message; otherwise it leads: it claims for every idle thread at
once (never more: the group claims only for free threads), keeps one message and leaves the rest
for the others, or, when nothing is ready, blocks on ``wait_for_work`` (one waiter per process,
no polling) until a submission wakes it.
"""

from __future__ import annotations

import threading
from collections import deque

from alsek.domain.model.message import Message
from alsek.domain.services.consumer import Consumer


class IdleThreads:
    """The meeting point of a group's idle threads.

    Args:
        consumer: claims and waits for work.
        stop: once set, no more claims; waiting threads return None.
    """

    def __init__(self, consumer: Consumer, stop: threading.Event) -> None:
        self.consumer = consumer
        self.stop = stop
        self._cond = threading.Condition()
        self._pending: deque[Message] = deque()
        self._followers = 0
        self._leading = False
        self._parked = False
        self._leader: threading.Thread | None = None

    def wake_all(self) -> None:
        """Wake every waiting thread (after ``stop`` was set)."""
        with self._cond:
            self._cond.notify_all()

    def parked_leader(self, thread: threading.Thread) -> bool:
        """Whether ``thread`` is the leader blocked in ``wait_for_work``: it holds no message and
        sees the stop when it wakes, so a shutdown need not wait for it."""
        with self._cond:
            return self._parked and self._leader is thread

    def take_pending(self) -> list[Message]:
        """Messages claimed for threads that have not taken them (to release them)."""
        with self._cond:
            pending = list(self._pending)
            self._pending.clear()
        return pending

    def acquire(self, claimed_nothing: bool = False) -> Message | None:
        """The calling thread's next message, or None once ``stop`` is set.

        A thread whose own claim just found nothing and that leads at once goes straight to
        waiting (``wait_for_work`` returns at once if work arrived meanwhile): no second claim.
        """
        with self._cond:
            self._followers += 1
            try:
                while True:
                    if self.stop.is_set():
                        return None
                    if self._pending:
                        return self._pending.popleft()
                    if not self._leading:
                        self._leading, self._leader = True, threading.current_thread()
                        break
                    self._cond.wait()
                    claimed_nothing = False
            finally:
                self._followers -= 1
        return self._lead(wait_first=claimed_nothing)

    def _lead(self, wait_first: bool) -> Message | None:
        try:
            while not self.stop.is_set():
                with self._cond:
                    limit = max(1, 1 + self._followers - len(self._pending))
                messages = [] if wait_first else self.consumer.claim(limit)
                wait_first = False
                if messages:
                    with self._cond:
                        self._pending.extend(messages[1:])
                    return messages[0]
                self._park()
            return None
        finally:
            with self._cond:
                self._leading, self._leader = False, None
                self._cond.notify_all()

    def _park(self) -> None:
        with self._cond:
            self._parked = True
        try:
            self.consumer.wait_for_work()
        finally:
            with self._cond:
                self._parked = False
