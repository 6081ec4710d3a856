"""One connection per thread for the backend's script calls (the worker hot path).

A script call through ``redis.Redis.evalsha`` takes the pool's lock twice, runs the retry wrapper
and hands the GIL around in thread pools. Here each thread keeps its own connection, built from
the client's pool settings (not counted by the pool) and used directly with ``send_command`` /
``read_response``. A forked child builds new ones: the parent's sockets are never used, and the
parent's lock (maybe held by another thread at the fork) is replaced.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

import redis


class ThreadConnections:
    """The per-thread script connections of one backend (each copy of a backend has its own)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[Any] = weakref.WeakSet()

    def get(self, client: redis.Redis) -> Any:
        """This thread's connection with ``client``'s settings (connected on first command)."""
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid() and held[1] is client.connection_pool:
            return held[2]
        return self._make(client)

    def _make(self, client: redis.Redis) -> Any:
        pid = os.getpid()
        if pid != self._pid:  # a forked child: forget the parent's connections and lock
            self._pid, self._lock, self._open = pid, threading.Lock(), weakref.WeakSet()
        pool = client.connection_pool
        connection = pool.connection_class(**pool.connection_kwargs)
        with self._lock:
            self._open.add(connection)
        self._local.held = (pid, pool, connection)
        return connection

    def close(self) -> None:
        """Disconnect every thread's connection (each reconnects on its next command)."""
        if os.getpid() != self._pid:
            return
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            connection.disconnect()
