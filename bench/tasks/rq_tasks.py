"""RQ side of the benchmark: plain functions, enqueued by reference."""

from __future__ import annotations

from bench.tasks._common import do_noop, do_stamp


def noop() -> None:
    """One INCR."""
    do_noop()


def stamp() -> None:
    """Record the start time."""
    do_stamp()
