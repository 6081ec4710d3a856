"""The composition root: dependency-injector containers wiring settings to adapters.

:class:`Container` builds the library's defaults (the default backend and brokers);
:class:`WorkerContainer` builds a worker pool for the CLI: settings -> tasks -> pool.
"""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from alsek.adapters.redis import RedisBackend
from alsek.app.discovery import discover_tasks
from alsek.app.settings import Settings, WorkerSettings
from alsek.domain.services.broker import Broker
from alsek.domain.services.task import Task
from alsek.worker.process.pool import ProcessWorkerPool
from alsek.worker.thread.pool import ThreadWorkerPool


class Container(containers.DeclarativeContainer):
    """Builds alsek's objects from :class:`Settings`. Override providers in tests."""

    settings = providers.Singleton(Settings.from_env)
    backend = providers.Singleton(
        RedisBackend,
        providers.Callable(lambda s: s.redis_url, settings),
        namespace=providers.Callable(lambda s: s.namespace, settings),
    )
    broker = providers.Factory(Broker, backend)


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
    }


def _thread_pool(tasks: list[Task], settings: WorkerSettings) -> ThreadWorkerPool:
    return ThreadWorkerPool(
        tasks,
        n_threads=settings.n_threads,
        n_process_floor=settings.n_process_floor,
        complete_only_on_thread_exit=settings.complete_only_on_thread_exit,
        **_pool_options(settings),
    )


def _process_pool(tasks: list[Task], settings: WorkerSettings) -> ProcessWorkerPool:
    return ProcessWorkerPool(
        tasks,
        prune_interval=settings.prune_interval,
        **_pool_options(settings),
    )


class WorkerContainer(containers.DeclarativeContainer):
    """Builds a worker pool from :class:`WorkerSettings`: settings -> tasks -> pool.

    ``settings`` must be provided (``WorkerContainer(settings=providers.Object(s))``); override
    ``tasks`` in tests to skip discovery.
    """

    settings = providers.Dependency(instance_of=WorkerSettings)
    tasks = providers.Singleton(discover_tasks, providers.Callable(lambda s: s.target, settings))
    thread_pool = providers.Factory(_thread_pool, tasks, settings)
    process_pool = providers.Factory(_process_pool, tasks, settings)
    pool = providers.Selector(
        providers.Callable(lambda s: s.pool, settings),
        thread=thread_pool,
        process=process_pool,
    )
