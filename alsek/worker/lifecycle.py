"""How worker processes start, stop and die: start methods, the stop signal and the handlers
that set it on SIGTERM/SIGINT, dying with the supervisor, and restarting children that die."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from alsek.domain.model.errors import ValidationError

if TYPE_CHECKING:  # ForkContext and ForkServerContext do not exist on Windows
    from multiprocessing.context import ForkContext, ForkServerContext, SpawnContext

    ProcessContext = ForkContext | ForkServerContext | SpawnContext

log = logging.getLogger("alsek.worker")

START_METHODS = ("fork", "forkserver", "spawn")
_PR_SET_PDEATHSIG = 1
_ORPHAN_CHECK_S = 1.0


def process_context(start_method: str) -> ProcessContext:
    """The multiprocessing context for ``start_method``.

    Raises:
        ValidationError: if the method is unknown or unavailable on this platform.
    """
    if start_method not in START_METHODS:
        raise ValidationError(f"start_method must be one of {START_METHODS}, got {start_method!r}")
    if start_method not in multiprocessing.get_all_start_methods():
        raise ValidationError(f"start method {start_method!r} is not available on {sys.platform}")
    # the check above narrows ``start_method`` to a literal that typeshed cannot see
    return cast("ProcessContext", multiprocessing.get_context(start_method))


def die_with_parent(parent_pid: int) -> None:
    """Make this (child) process die when the supervisor ``parent_pid`` does: a killed pool
    leaves no orphans holding leases. A direct child on Linux uses the kernel's parent-death
    signal; otherwise (other systems, or started by a fork server) a thread watches the pid."""
    direct = os.getppid() == parent_pid
    if direct and sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            if libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
                if os.getppid() != parent_pid:  # the parent died before prctl took effect
                    os._exit(1)
                return
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


@functools.cache
def libc() -> Any:
    """The C library (loaded once: a zygote's forks inherit it instead of loading it each)."""
    return ctypes.CDLL(None, use_errno=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (cannot be our supervisor, but keep)
        return True
    return True


def _watch_parent(parent_pid: int) -> None:
    while _alive(parent_pid):
        time.sleep(_ORPHAN_CHECK_S)
    os._exit(1)


def install_stop_handlers(
    on_stop: Callable[[], None], *, ignore_sigint: bool = False
) -> Callable[[], None]:
    """Call ``on_stop`` on SIGTERM (and SIGINT, unless ``ignore_sigint``: a child leaves Ctrl-C
    to its parent, which stops it in order). Only possible from the main thread (elsewhere
    nothing is installed).

    Returns:
        A function that puts the previous handlers back.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        log.info("Received %s; stopping.", signal.Signals(signum).name)
        on_stop()

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.SIG_IGN if ignore_sigint else handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)

    return restore


def terminate(process: Any) -> None:
    """Ask a child process to stop (SIGTERM), ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError, OSError, AttributeError):
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, signal.SIGTERM)


class StopSignal:
    """The one stop request of the worker runtime: threads wait on it, a signal handler sets it.

    :meth:`set` takes no lock the interrupted thread might hold (a signal handler runs in the
    main thread, between any two bytecodes): it raises the flag, then wakes the waiters only if
    it gets their lock at once. A waiter that missed that wake notices within ``poll_s``.

    Args:
        deadline: a ``time.monotonic()`` time after which the signal reads as set by itself (what
            a shutdown that must end in time waits on); None: only :meth:`set` sets it.
        poll_s: the longest a waiter sleeps before it looks at the flag again (seconds).
    """

    def __init__(self, *, deadline: float | None = None, poll_s: float = 0.05) -> None:
        self._set = False
        self._deadline = deadline
        self._poll_s = poll_s
        self._cond = threading.Condition(threading.Lock())

    @classmethod
    def after(cls, seconds: float) -> StopSignal:
        """A signal that sets itself ``seconds`` from now (unless set sooner)."""
        return cls(deadline=time.monotonic() + seconds)

    def set(self) -> None:
        """Request the stop and wake the waiters (safe inside a signal handler)."""
        self._set = True
        if self._cond.acquire(blocking=False):  # never block: the lock's holder may be us
            try:
                self._cond.notify_all()
            finally:
                self._cond.release()

    def is_set(self) -> bool:
        """Whether the stop was requested (or the deadline passed)."""
        if self._set:  # asked once per message: no clock read unless there is a deadline
            return True
        return self._deadline is not None and time.monotonic() >= self._deadline

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever) for the stop; return whether it is set."""
        end = float("inf") if timeout is None else time.monotonic() + max(timeout, 0.0)
        if self._deadline is not None:
            end = min(end, self._deadline)
        with self._cond:
            while not self._set:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, self._poll_s))
        return self.is_set()


class Restarts:
    """When to restart a child that died: at once, unless it keeps dying young (then after
    a pause doubling from 0.1 s to 10 s), so a broken child cannot fork in a tight loop."""

    YOUNG_S = 1.0
    FIRST_PAUSE_S = 0.1
    LONGEST_PAUSE_S = 10.0

    def __init__(self) -> None:
        self.failures = 0
        self.not_before = 0.0

    def died(self, lived_s: float) -> None:
        """Record a death after ``lived_s`` seconds of life."""
        self.failures = self.failures + 1 if lived_s < self.YOUNG_S else 0
        pause = min(self.FIRST_PAUSE_S * 2 ** (self.failures - 1), self.LONGEST_PAUSE_S)
        self.not_before = time.monotonic() + (pause if self.failures else 0.0)
        if self.failures > 1:
            log.error("A child process keeps dying at start; next attempt in %.1f s.", pause)

    def due(self) -> bool:
        """Whether a restart may happen now."""
        return time.monotonic() >= self.not_before
