"""The body of a thread pool's process group: a child process running a :class:`ThreadGroup`."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alsek.domain.model.errors import ValidationError
from alsek.domain.services.broker import Broker
from alsek.domain.services.consumer import Consumer
from alsek.worker.lifecycle import StopFlag, die_with_parent, install_stop_handlers
from alsek.worker.spec import WorkerSpec
from alsek.worker.thread.group import ThreadGroup

if TYPE_CHECKING:
    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.worker")


def broker_of(tasks: Mapping[str, Task]) -> Broker:
    """A broker for the pool's consumer: the first task's. Each task's own broker still settles
    its messages (its dead letter settings apply).

    Raises:
        ValidationError: if there are no tasks or their brokers use different backends.
    """
    if not tasks:
        raise ValidationError("no tasks to run")
    backends = {id(t.broker.backend) for t in tasks.values()}
    if len(backends) > 1:
        raise ValidationError(
            f"tasks {sorted(tasks)} use {len(backends)} different backends; a pool needs one"
        )
    return next(iter(tasks.values())).broker


def run_group(spec: WorkerSpec, index: int, load: Any, parent_pid: int) -> None:
    """Run one process group until SIGTERM (or the parent's death), then wind down gracefully.

    Args:
        spec: the tasks, queues and timings.
        index: this group's place in ``load``.
        load: shared array where the group reports how many threads are busy.
        parent_pid: the supervisor, which this process must not outlive.
    """
    die_with_parent(parent_pid)
    flag = StopFlag()
    install_stop_handlers(flag.set, ignore_sigint=True)
    spec.configure_logging()
    tasks = spec.resolve()
    stop = threading.Event()
    consumer = Consumer(
        broker_of(tasks), spec.queues, spec.backoff, lease_ms=spec.lease_ms, stop_signal=stop
    )
    group = ThreadGroup(
        consumer, tasks, n_threads=spec.n_threads, stop=stop, heartbeat_ms=spec.heartbeat_ms,
        complete_only_on_thread_exit=spec.complete_only_on_thread_exit,
        abandon_ms=spec.abandon_ms, tick_ms=spec.tick_ms,
        report_load=lambda busy: load.__setitem__(index, busy), prefetch=spec.prefetch,
    )  # fmt: skip
    group.start()
    log.debug("Process group %s (pid %s) started %s threads.", index, os.getpid(), spec.n_threads)
    flag.wait()
    group.shutdown(spec.grace_ms)
    log.debug("Process group %s (pid %s) stopped.", index, os.getpid())
