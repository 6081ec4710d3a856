"""The lines a pool logs at start: what runs, where, and how."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from alsek.app.settings import WorkerSettings


def version() -> str:
    """alsek's installed version ("unknown" when not installed)."""
    try:
        return metadata.version("alsek")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def address_of(backend: Any) -> str:
    """Where ``backend`` keeps its data, password masked."""
    address = getattr(backend, "address", None)
    return address if isinstance(address, str) else type(backend).__name__


def _cpus(pin_cpus: bool | None) -> str:
    """How the processes that run tasks use the CPUs, as a suffix of the pool's shape."""
    if pin_cpus is None:
        return ", each on one CPU while busy with interpreter-bound work"
    return ", each pinned to one CPU" if pin_cpus else ""


def shape(pool: Any, settings: WorkerSettings) -> str:
    """The pool's concurrency in words."""
    if settings.pool == "thread":
        return (
            f"thread pool, up to {pool.n_processes} process group(s) of {pool.n_threads} "
            f"thread(s) (at least {pool.n_process_floor} kept){_cpus(settings.pin_cpus)}"
        )
    reuse = pool.max_tasks_per_child
    if reuse == 0:  # only processes reused without limit keep to a CPU
        per_child, cpus = "unlimited tasks per process", _cpus(settings.pin_cpus)
    else:
        per_child = "a fresh process per task" if reuse == 1 else f"max {reuse} tasks per process"
        cpus = (
            " (--pin-cpus applies to processes reused without limit only)"
            if settings.pin_cpus
            else ""
        )
    return f"process pool, up to {pool.n_processes} task process(es), {per_child}{cpus}"


def banner(pool: Any, settings: WorkerSettings) -> list[str]:
    """The start-up lines of ``pool`` built from ``settings``: version, Redis (password
    masked), namespace, queues, pool shape, lease and prefetch."""
    backend = pool.broker.backend
    return [
        f"alsek {version()}: {shape(pool, settings)}",
        f"Redis {address_of(backend)}, namespace {backend.namespace!r}",
        f"Queues: {', '.join(pool.queues)}; tasks: {', '.join(sorted(pool.tasks))}",
        f"Lease {pool.lease_ms:,} ms (heartbeat every {pool.heartbeat_ms:,} ms), prefetch "
        f"{pool.prefetch} per process, grace period {pool.grace_period:,} ms",
    ]
