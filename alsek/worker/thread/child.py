"""The body of a thread pool's child process (a process group): a :class:`ThreadGroup` of worker
threads that runs until SIGTERM (or the supervisor's death), then winds down gracefully."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from alsek.worker.metrics import metrics_observer
from alsek.worker.pool import start_child
from alsek.worker.registry import Identity
from alsek.worker.spec import WorkerSpec
from alsek.worker.thread.group import ThreadGroup

log = logging.getLogger("alsek.worker")

#: Exit code of a process group that stopped to be replaced (too many abandoned threads).
RECYCLE_EXIT = 75


def run_child(spec: WorkerSpec, index: int, load: Any, parent_pid: int) -> None:
    """Run one process group until SIGTERM (or the parent's death), then wind down gracefully.

    Args:
        spec: the tasks, queues and timings.
        index: this group's place in ``load``.
        load: shared array where the group reports how many threads are busy.
        parent_pid: the supervisor, which this process must not outlive.
    """
    stop, processor = start_child(spec, index, parent_pid)
    group = ThreadGroup(
        processor, n_threads=spec.n_threads, stop=stop, heartbeat_ms=spec.heartbeat_ms,
        complete_only_on_thread_exit=spec.complete_only_on_thread_exit,
        abandon_ms=spec.abandon_ms, tick_ms=spec.tick_ms,
        report_load=lambda busy: load.__setitem__(index, busy), prefetch=spec.prefetch,
        identity=Identity(kind="thread-group", queues=spec.queues,
                          tasks=sorted(processor.tasks), concurrency=spec.n_threads,
                          pool_pid=parent_pid),
        registry_heartbeat_ms=spec.registry_heartbeat_ms,
        async_concurrency=spec.async_concurrency,
        governed_as=spec.governed_as(index),
    )  # fmt: skip
    if spec.metrics_dir is not None:
        group.stats.observers.append(metrics_observer(spec.metrics_dir))
        group.watchdog.observer = processor.consumer.observer
    group.start()
    log.debug("Process group %s (pid %s) started %s threads.", index, os.getpid(), spec.n_threads)
    stop.wait()
    group.shutdown(spec.grace_ms)
    log.debug("Process group %s (pid %s) stopped.", index, os.getpid())
    if group.recycle:
        sys.exit(RECYCLE_EXIT)
