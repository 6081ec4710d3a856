"""One connection per thread (and per cluster node) for the backend's script calls (the worker
hot path).

A script call through ``redis.Redis.evalsha`` takes the pool's lock twice, runs the retry wrapper
and hands the GIL around in thread pools. Here each thread keeps its own connection per server,
built from the settings of that server's pool (not counted by the pool) and used directly with
``send_command`` / ``read_response``. A forked child builds new ones: the parent's sockets are
never used, and the parent's lock (maybe held by another thread at the fork) is replaced.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any


class ThreadConnections:
    """The per-thread script connections of one backend (each copy of a backend has its own)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[Any] = weakref.WeakSet()

    def get(self, pool: Any) -> Any:
        """This thread's connection with ``pool``'s settings (connected on first command)."""
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid() and held[1] is pool:
            return held[2]
        connection = self._make(pool)
        self._local.held = (os.getpid(), pool, connection)
        return connection

    def for_node(self, name: str, pool: Any) -> Any:
        """This thread's connection to the cluster node ``name`` (made with ``pool``'s settings
        the first time)."""
        nodes: tuple[int, dict[str, Any]] | None = getattr(self._local, "nodes", None)
        if nodes is None or nodes[0] != os.getpid():
            nodes = self._local.nodes = (os.getpid(), {})
        connection = nodes[1].get(name)
        if connection is None:
            connection = nodes[1][name] = self._make(pool)
        return connection

    def forget_node(self, name: str) -> None:
        """Disconnect this thread's connection to node ``name`` (a new one is made next time)."""
        nodes = getattr(self._local, "nodes", None)
        if nodes is not None and nodes[0] == os.getpid():
            connection = nodes[1].pop(name, None)
            if connection is not None:
                connection.disconnect()

    def _make(self, pool: Any) -> Any:
        pid = os.getpid()
        if pid != self._pid:  # a forked child: forget the parent's connections and lock
            self._pid, self._lock, self._open = pid, threading.Lock(), weakref.WeakSet()
        connection = pool.connection_class(**pool.connection_kwargs)
        with self._lock:
            self._open.add(connection)
        return connection

    def close(self) -> None:
        """Disconnect every thread's connection (each reconnects on its next command)."""
        if os.getpid() != self._pid:
            return
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            connection.disconnect()
