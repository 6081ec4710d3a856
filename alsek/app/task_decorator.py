"""The ``task`` decorator: turns a function into a :class:`Task` (or :class:`TriggerTask`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alsek.app.facade import default_broker
from alsek.app.trigger_task import TriggerTask
from alsek.domain.model import defaults
from alsek.domain.model.backoff import DEFAULT_BACKOFF, Backoff
from alsek.domain.model.errors import TaskNameCollisionError, ValidationError
from alsek.domain.services.broker import Broker
from alsek.domain.services.message_builder import DEFAULT_MAX_RETRIES
from alsek.domain.services.task import Task


def _task_class(base_task: type[Task] | None, trigger: Any) -> type[Task]:
    if base_task is not None and not (isinstance(base_task, type) and issubclass(base_task, Task)):
        raise ValidationError(f"base_task must be a subclass of Task, got {base_task!r}")
    if trigger is None:
        if base_task is not None and issubclass(base_task, TriggerTask):
            raise ValidationError(f"{base_task.__name__} is a TriggerTask but no trigger was given")
        return base_task or Task
    if base_task is None or issubclass(base_task, TriggerTask):
        return base_task or TriggerTask
    return type(f"Trigger{base_task.__name__}", (base_task, TriggerTask), {})


def _same_function(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    def identity(f: Callable[..., Any]) -> tuple[Any, Any]:
        return getattr(f, "__module__", None), getattr(f, "__qualname__", None)

    return a is b or identity(a) == identity(b)


def _register(task: Task) -> None:
    existing = task.broker.tasks.get(task.name)
    if existing is not None and not _same_function(existing.function, task.function):
        raise TaskNameCollisionError(
            f"task name {task.name!r} is already used by "
            f"{existing.function.__module__}.{existing.function.__qualname__}; "
            "pass name= to tell them apart"
        )
    task.broker.register(task)


def task(
    broker: Broker | None = None,
    name: str | None = None,
    queue: str | None = None,
    timeout: int = defaults.DEFAULT_TASK_TIMEOUT_MS,
    max_retries: int | None = DEFAULT_MAX_RETRIES,
    backoff: Backoff | None = DEFAULT_BACKOFF,
    trigger: Any = None,
    result_store: Any = None,
    status_tracker: Any = None,
    mechanism: str = defaults.DEFAULT_MECHANISM,
    no_positional_args: bool = False,
    base_task: type[Task] | None = None,
    priority: int = 0,
) -> Callable[[Callable[..., Any]], Task]:
    """Decorate a function to make it a task.

    Args:
        broker: where messages go. Omitted (or the tour's ``...``): a broker on the default Redis
            (``ALSEK_REDIS_URL``, else localhost:6379), created without connecting.
        name: task name (default: the function's name); unique per broker.
        queue: queue for its messages (default ``"alsek_queue"``).
        timeout: longest run, in milliseconds (default 3,600,000).
        max_retries: retries after a failure (None: no limit; default 3).
        backoff: wait between retries (default ``ExponentialBackoff()``; None: none).
        trigger: an apscheduler trigger: the result is a :class:`TriggerTask`.
        result_store: a ``ResultStore`` to keep results in.
        status_tracker: a ``StatusTracker`` to record statuses in.
        mechanism: ``"process"`` (default) or ``"thread"``: the worker pool that runs it
            (``process-pool`` or ``thread-pool``).
        no_positional_args: refuse ``generate(args=...)`` (keyword arguments only).
        base_task: a ``Task`` subclass overriding hooks (``pre_op``, ``do_retry``, ...).
        priority: default message priority; lower integers run first (after 1.3.2's
            parameters, so positional calls written for 1.3.2 keep their meaning).

    Returns:
        A decorator producing the task.

    Raises:
        ValidationError: for an invalid option (checked when the decorator is applied).
        TaskNameCollisionError: if another function already uses the name on this broker.
    """
    if broker is None or broker is Ellipsis:
        broker = default_broker()
    if not isinstance(broker, Broker):
        raise ValidationError(f"broker must be a Broker, got {type(broker).__name__}")
    cls = _task_class(base_task, trigger)
    options: dict[str, Any] = dict(
        name=name, queue=queue, priority=priority, timeout=timeout, max_retries=max_retries,
        backoff=backoff, mechanism=mechanism, status_tracker=status_tracker,
        result_store=result_store, no_positional_args=no_positional_args,
    )  # fmt: skip
    if trigger is not None:
        from alsek.adapters.scheduling.apscheduler import ApschedulerScheduler  # on use: slow

        options.update(trigger=trigger, scheduler=ApschedulerScheduler())

    def decorator(function: Callable[..., Any]) -> Task:
        if not callable(function):
            raise ValidationError(f"@task needs a function, got {type(function).__name__}")
        made = cls(function, broker=broker, **options)
        _register(made)
        return made

    return decorator
