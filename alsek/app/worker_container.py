"""The composition root of the worker CLI: settings -> tasks -> pool.

The settings' Redis (``--redis-url``) reaches tasks defined without a broker explicitly, never
through the environment: the supervisor makes it the defaults' settings before it imports the
tasks (:func:`~alsek.app.facade.use_settings`), and each child process does the same, as its
pool's initializer, before it looks its tasks up.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from dependency_injector import containers, providers

from alsek.adapters.redis.descriptions import address_of, server_key
from alsek.app.discovery import discover_tasks
from alsek.app.facade import use_settings
from alsek.app.settings import WorkerSettings
from alsek.domain.services.task import Task
from alsek.worker.process.pool import ProcessWorkerPool
from alsek.worker.thread.pool import ThreadWorkerPool

log = logging.getLogger("alsek.app")


def _tasks(settings: WorkerSettings) -> list[Task]:
    """The tasks of ``settings.target``, imported once the defaults use the settings' Redis."""
    use_settings(settings.defaults)
    tasks = discover_tasks(settings.target)
    warn_about_other_redis(tasks, settings.redis_url)
    return tasks


def warn_about_other_redis(tasks: list[Task], redis_url: str | None) -> None:
    """Log one warning per Redis other than ``redis_url`` (the pool's ``--redis-url`` or
    ``ALSEK_REDIS_URL``) that some of ``tasks`` use, naming both (passwords masked): their
    brokers were built with a URL of their own, which wins."""
    if redis_url is None:
        return
    expected, server = address_of(redis_url), server_key(redis_url)
    elsewhere: dict[str, list[str]] = {}
    for task in tasks:
        backend = task.broker.backend
        other = getattr(backend, "server", None)
        if other is not None and other != server:
            elsewhere.setdefault(backend.address, []).append(task.name)  # type: ignore[attr-defined]
    for address, names in elsewhere.items():
        log.warning("--redis-url (or ALSEK_REDIS_URL) is %s, but the broker of task(s) %s "
                    "uses %s (built with a URL of its own, which wins).", expected,
                    ", ".join(sorted(names)), address)  # fmt: skip


def _pool_options(settings: WorkerSettings) -> dict[str, Any]:
    """The options both pools take, from ``settings``."""
    return {
        "queues": settings.queues,
        "task_specific_mode": settings.task_specific_mode,
        "backoff": settings.consumer_backoff,
        "lease_ms": settings.lease_ms,
        "grace_period": settings.grace_period,
        "start_method": settings.start_method,
        "slot_wait_interval": settings.slot_wait_interval,
        "n_processes": settings.n_processes,
        "prefetch": settings.prefetch,
        "unknown_task_window": settings.unknown_task_window,
        "metrics_port": settings.metrics_port,
        "registry_heartbeat_ms": settings.registry_heartbeat_ms,
        "pin_cpus": settings.pin_cpus,
        "initializer": functools.partial(use_settings, settings.defaults),
    }


def _thread_pool(tasks: list[Task], settings: WorkerSettings) -> ThreadWorkerPool:
    return ThreadWorkerPool(
        tasks,
        n_threads=settings.n_threads,
        n_process_floor=settings.n_process_floor,
        complete_only_on_thread_exit=settings.complete_only_on_thread_exit,
        async_concurrency=settings.async_concurrency,
        **_pool_options(settings),
    )


def _process_pool(tasks: list[Task], settings: WorkerSettings) -> ProcessWorkerPool:
    return ProcessWorkerPool(
        tasks,
        prune_interval=settings.prune_interval,
        max_tasks_per_child=settings.max_tasks_per_child,
        **_pool_options(settings),
    )


class WorkerContainer(containers.DeclarativeContainer):
    """Builds a worker pool from :class:`WorkerSettings`: settings -> tasks -> pool.

    ``settings`` must be provided (``WorkerContainer(settings=providers.Object(s))``); override
    ``tasks`` in tests to skip discovery.
    """

    settings = providers.Dependency(instance_of=WorkerSettings)
    tasks = providers.Singleton(_tasks, settings)
    thread_pool = providers.Factory(_thread_pool, tasks, settings)
    process_pool = providers.Factory(_process_pool, tasks, settings)
    pool = providers.Selector(
        providers.Callable(lambda s: s.pool, settings),
        thread=thread_pool,
        process=process_pool,
    )
