"""Alsek 1.3.2's locks whose owner is the running process or thread (computed at each use), so
that a lock object shared by threads, or inherited by a forked child, has one owner per process
(:class:`ProcessLock`) or per thread (:class:`ThreadLock`)."""

from __future__ import annotations

import os
import socket
import threading

from alsek.domain.services.lock import Lock


class ProcessLock(Lock):
    """A :class:`~alsek.domain.services.lock.Lock` owned by the process using it (host and pid):
    another process, a forked child included, cannot take or release it while this one holds
    it."""

    @property
    def owner_id(self) -> str:
        """``<host>:<pid>`` of the process using the lock now."""
        return f"{socket.gethostname()}:{os.getpid()}"


class ThreadLock(Lock):
    """A :class:`~alsek.domain.services.lock.Lock` owned by the thread using it (host, pid and
    thread): another thread cannot take or release it while this one holds it."""

    @property
    def owner_id(self) -> str:
        """``<host>:<pid>:<thread>`` of the thread using the lock now."""
        return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
