"""What a pool's child process needs to start working: plain values only.

A child never receives live clients or the container. It runs the spec's ``initializer`` (the
composition root's defaults, such as the CLI's ``--redis-url``), then finds its tasks by module and
name (with the ``fork`` start method the modules are already imported; with ``spawn``/``forkserver``
they are imported afresh), so the tasks' broker and backend are the child's own and it opens its
own connections.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs
from attrs import field, frozen

from alsek.domain.model.backoff import Backoff
from alsek.domain.model.errors import ValidationError
from alsek.domain.services.message_processor import DEFAULT_UNKNOWN_TASK_WINDOW_MS

if TYPE_CHECKING:
    from alsek.domain.services.task import Task


@frozen
class TaskRef:
    """Where a task lives: the module that defines it and its name."""

    module: str
    name: str

    @classmethod
    def of(cls, task: Task) -> TaskRef:
        """The reference of ``task`` (by its function's module)."""
        return cls(module=getattr(task.function, "__module__", "__main__"), name=task.name)


@frozen(kw_only=True)
class WorkerSpec:
    """Everything a child process of a pool is told.

    Attributes:
        tasks: where to find the tasks to run.
        queues: the queues to consume, most preferred first.
        lease_ms: the lease of a claimed message.
        heartbeat_ms: how often running messages' leases are renewed.
        backoff: the consumer's idle backoff.
        n_threads: worker threads per process (1 in a process pool's child).
        prefetch: messages each process claims beyond its free threads (see
            :class:`~alsek.worker.feeder.Feeder`).
        complete_only_on_thread_exit: see :class:`ThreadGroup`.
        abandon_ms: how long an interrupted thread may take to unwind before it is abandoned.
        tick_ms: the watchdog's longest sleep.
        grace_ms: how long running tasks may finish after a stop request.
        logging: the parent's root logging ``(level, format)``, applied by a child that starts
            without handlers (``spawn``/``forkserver``; a forked child inherits them).
        initializer: called in the child before it looks up its tasks (pickled by reference).
        claim_tasks: the task names claims are limited to (empty: every task).
        max_tasks_per_child: messages a process pool's task process runs before a fresh one is
            forked (1: a fresh process per task; 0: no limit).
        zygote_spares: fresh task processes a process pool's zygote keeps forked ahead.
        unknown_task_window_ms: how long a message of an unknown task keeps being given back
            before it is failed (see :class:`MessageProcessor`).
        registry_heartbeat_ms: how often a process group rewrites its worker registry record
            (0: none).
        metrics_dir: where a process group writes its Prometheus metrics (None: no metrics).
        async_concurrency: ``async def`` tasks a thread group runs at once on its event loop.
        pin_cpus: True: pin each child (a thread group, or a process pool's reused task
            process) to one CPU, the children in turn over the CPUs (see
            :mod:`alsek.worker.affinity`); None: a thread group, or a process pool's process
            reused without limit, keeps to one CPU while busy with interpreter-bound work
            (:mod:`alsek.worker.affinity_governor`); False: never.
    """

    tasks: tuple[TaskRef, ...]
    queues: tuple[str, ...]
    lease_ms: int
    heartbeat_ms: int
    backoff: Backoff
    n_threads: int = 1
    prefetch: int = 0
    complete_only_on_thread_exit: bool = False
    abandon_ms: int = 1_000
    tick_ms: int = 100
    grace_ms: int = 10_000
    logging: tuple[int, str] | None = None
    initializer: Callable[[], object] | None = None
    claim_tasks: tuple[str, ...] = ()
    max_tasks_per_child: int = 1
    zygote_spares: int = 1
    unknown_task_window_ms: int = DEFAULT_UNKNOWN_TASK_WINDOW_MS
    registry_heartbeat_ms: int = 0
    metrics_dir: str | None = None
    async_concurrency: int = 100
    pin_cpus: bool | None = None
    local: dict[str, Any] = field(factory=dict, eq=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        state = {a.name: getattr(self, a.name) for a in attrs.fields(type(self))}
        state["local"] = {}  # live task objects never cross a process boundary
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    @classmethod
    def for_tasks(cls, tasks: Iterable[Task], **settings: Any) -> WorkerSpec:
        """A spec for ``tasks`` (kept in memory too, for children forked from this process)."""
        tasks = list(tasks)
        return cls(
            tasks=tuple(TaskRef.of(t) for t in tasks),
            local={t.name: t for t in tasks},
            logging=_root_logging(),
            **settings,
        )

    def governed_as(self, index: int) -> int | None:
        """The number child ``index`` is governed under (the affinity rule runs only while
        ``pin_cpus`` is unset), or None: pinned for good, or never."""
        return index if self.pin_cpus is None else None

    def configure_logging(self) -> None:
        """Give a freshly started child the parent's logging (a forked child has it already)."""
        root = logging.getLogger()
        if self.logging is not None and not root.handlers:
            level, form = self.logging
            logging.basicConfig(level=level, format=form)

    def resolve(self) -> dict[str, Task]:
        """The tasks by name: the ones in memory (forked child), else imported by module.

        Raises:
            ValidationError: if a module cannot be imported or does not define the task.
        """
        if self.local:
            return dict(self.local)
        return {ref.name: _import_task(ref) for ref in self.tasks}


def _root_logging() -> tuple[int, str] | None:
    root = logging.getLogger()
    if not root.handlers:
        return None
    formatter = root.handlers[0].formatter
    return root.level, (formatter._fmt if formatter and formatter._fmt else logging.BASIC_FORMAT)


def _import_task(ref: TaskRef) -> Task:
    from alsek.domain.services.task import Task

    try:
        module = importlib.import_module(ref.module)
    except Exception as error:
        raise ValidationError(
            f"cannot import {ref.module!r} for task {ref.name!r}: {error}"
        ) from error
    for value in vars(module).values():
        if isinstance(value, Task) and value.name == ref.name:
            return value
    raise ValidationError(f"module {ref.module!r} defines no task named {ref.name!r}")
