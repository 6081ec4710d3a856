"""Deliver an exception into a running thread (CPython's ``PyThreadState_SetAsyncExc``).

A :class:`ThreadInterrupter` belongs to one worker thread. The thread runs each task through
:meth:`ThreadInterrupter.execute`; a watchdog calls :meth:`ThreadInterrupter.interrupt` to raise
``TimeoutError`` or ``RevokedError`` in it. The exception is only ever sent while that very run is
executing task code, at most once per run, and a copy still pending when the run ends is cleared,
so it can never land in the worker's own bookkeeping or in the next task.
"""

from __future__ import annotations

import ctypes
import enum
import logging
import threading
from collections.abc import Callable

from alsek.domain.model.outcome import Outcome

log = logging.getLogger("alsek.worker")

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.restype = ctypes.c_int  # no argtypes: None must pass as NULL (clear), not Py_None


def raise_in_thread(thread_id: int, exc_type: type[BaseException] | None) -> bool:
    """Make ``exc_type`` raise in thread ``thread_id`` at its next bytecode (None: clear a pending
    one). Returns whether a thread was affected."""
    exc = None if exc_type is None else ctypes.py_object(exc_type)
    affected = _set_async_exc(ctypes.c_ulong(thread_id), exc)
    if affected > 1:  # cannot happen for a valid id; undo as CPython's docs require
        _set_async_exc(ctypes.c_ulong(thread_id), None)
        return False
    return affected == 1


class _Phase(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"


class ThreadInterrupter:
    """Runs task code in the current thread so that another thread can interrupt it safely.

    Args:
        thread_id: ``threading.get_ident()`` of the worker thread that calls :meth:`execute`.
    """

    def __init__(self, thread_id: int | None = None) -> None:
        self.thread_id = threading.get_ident() if thread_id is None else thread_id
        self._lock = threading.Lock()
        self._phase = _Phase.IDLE
        self._run = 0
        self._sent: tuple[type[BaseException], str] | None = None
        self._abandoned = False

    def execute(self, run: int, work: Callable[[], Outcome]) -> Outcome | None:
        """Run ``work`` (which captures the task's own exceptions) as run number ``run``.

        Returns:
            Its outcome; an interrupt that arrives after ``work`` returned is ignored, one that
            arrives before turns the outcome into that failure (with the interrupt's reason as
            text). None if the run was abandoned meanwhile (see :meth:`abandon`).
        """
        with self._lock:
            self._run, self._phase, self._sent, self._abandoned = run, _Phase.RUNNING, None, False
        outcome: Outcome | None = None
        try:
            outcome = work()
            self._leave()
        except BaseException as late:  # an interrupt delivered after ``work`` caught its own
            self._leave()
            if outcome is None:
                outcome = Outcome.failure(late)
        if self._abandoned:
            return None
        return self._explain(outcome)

    def _leave(self) -> None:
        with self._lock:
            self._phase = _Phase.IDLE
            if self._sent is not None:
                raise_in_thread(self.thread_id, None)

    def _explain(self, outcome: Outcome) -> Outcome:
        sent = self._sent
        error = outcome.error
        if sent is None or not isinstance(error, sent[0]) or error.args:
            return outcome
        error.args = (sent[1],)
        return Outcome.failure(error)

    def interrupt(self, run: int, exc_type: type[BaseException], reason: str) -> bool:
        """Raise ``exc_type`` (explained by ``reason``) in run ``run`` if it is still executing and
        was not interrupted before. Returns whether it was sent."""
        with self._lock:
            if self._run != run or self._phase is not _Phase.RUNNING or self._sent is not None:
                return False
            self._sent = (exc_type, reason)
            sent = raise_in_thread(self.thread_id, exc_type)
        if sent:
            log.warning("Interrupted thread %s: %s", self.thread_id, reason)
        return sent

    def interrupted(self, run: int) -> bool:
        """Whether run ``run`` has been sent an interrupt."""
        with self._lock:
            return self._run == run and self._sent is not None

    def abandon(self, run: int) -> bool:
        """Give up on run ``run`` if it is still executing (its thread is stuck): its outcome
        will be discarded. Returns whether it was abandoned (False: it already finished)."""
        with self._lock:
            if self._run != run or self._phase is not _Phase.RUNNING:
                return False
            self._abandoned = True
            return True
