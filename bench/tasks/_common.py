"""The work every benchmark task does, identical for every system.

A task's own Redis client is built lazily, once per process (re-built after a
fork), so the first task in a worker pays for the connection and no task ever
opens one of its own.
"""

from __future__ import annotations

import os
import threading
import time

import redis

#: Counter the ``noop`` tasks increment; the harness polls it to see completions.
DONE_KEY = "bench:done"
#: List the ``stamp`` tasks push their start time (``time.time()``) onto.
LATENCY_KEY = "bench:lat"
#: Queue name every system uses.
QUEUE = "bench"

_lock = threading.Lock()
_client: redis.Redis | None = None
_client_pid: int | None = None


def redis_url() -> str:
    """Return the benchmark's Redis URL from ``BENCH_REDIS_URL``."""
    return os.environ["BENCH_REDIS_URL"]


def client() -> redis.Redis:
    """Return this process's Redis client for task bodies, building it on first use."""
    global _client, _client_pid
    pid = os.getpid()
    if _client is None or _client_pid != pid:
        with _lock:
            if _client is None or _client_pid != pid:
                _client = redis.Redis.from_url(redis_url())
                _client_pid = pid
    return _client


def do_noop() -> None:
    """The no-op task body: exactly one ``INCR``."""
    client().incr(DONE_KEY)


def do_stamp() -> None:
    """The latency task body: record the start time first, then one ``RPUSH``."""
    started = time.time()
    client().rpush(LATENCY_KEY, repr(started))
