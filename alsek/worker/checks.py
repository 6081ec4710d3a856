"""Checks of a worker pool's settings: its tasks, their mechanism, its queues, numbers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from alsek.domain.model.errors import NoTasksFoundError, ValidationError
from alsek.domain.model.naming import validate_queue_name

if TYPE_CHECKING:
    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.worker")


def default_process_count() -> int:
    """One process per CPU this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_tasks(tasks: Iterable[Task]) -> dict[str, Task]:
    """``tasks`` by name.

    Raises:
        NoTasksFoundError: if there are none.
        ValidationError: if one is not a task, or two share a name.
    """
    from alsek.domain.services.task import Task

    by_name: dict[str, Task] = {}
    for task in tasks or ():
        if not isinstance(task, Task):
            raise ValidationError(f"not a task: {task!r}")
        if task.name in by_name and by_name[task.name] is not task:
            raise ValidationError(f"two tasks are named {task.name!r}")
        by_name[task.name] = task
    if not by_name:
        raise NoTasksFoundError("a worker pool needs at least one task")
    return by_name


def of_mechanism(tasks: dict[str, Task], mechanism: str) -> dict[str, Task]:
    """The tasks of ``tasks`` a pool of ``mechanism`` runs (a thread pool runs
    ``mechanism="thread"`` tasks, a process pool ``"process"`` ones); the others are logged.

    Raises:
        NoTasksFoundError: if none has that mechanism.
    """
    kept = {name: t for name, t in tasks.items() if t.mechanism == mechanism}
    left_out = sorted(set(tasks) - set(kept))
    if not kept:
        raise NoTasksFoundError(
            f"none of the tasks {sorted(tasks)} has mechanism={mechanism!r}: a {mechanism} pool "
            f"runs only those (set mechanism={mechanism!r} on the task, or use the other pool)"
        )
    if left_out:
        log.info("This %s pool leaves out the tasks of the other mechanism (their messages stay "
                 "queued for the other pool): %s", mechanism, ", ".join(left_out))  # fmt: skip
    return kept


def choose_queues(
    tasks: dict[str, Task], queues: Sequence[str] | str | None, task_specific_mode: bool
) -> tuple[str, ...]:
    """The queues to consume, in order: ``queues`` as given (in task-specific mode, only those
    some task uses), else every queue of the tasks alphabetically.

    Raises:
        ValidationError: for a bad or duplicate queue name, or when nothing is left to consume.
    """
    if isinstance(queues, str):
        queues = [q.strip() for q in queues.split(",") if q.strip()]
    task_queues = {t.queue for t in tasks.values()}
    if not queues:
        chosen = sorted(task_queues)
    else:
        chosen = [validate_queue_name(q) for q in queues]
        if len(set(chosen)) != len(chosen):
            raise ValidationError(f"duplicate queues in {chosen}")
        if task_specific_mode:
            chosen = [q for q in chosen if q in task_queues]
    if not chosen:
        raise ValidationError(f"no task uses any of the queues {list(queues or [])}")
    return tuple(chosen)


def non_negative(name: str, value: Any) -> int:
    """``value`` if it is an integer >= 0.

    Raises:
        ValidationError: naming ``name`` otherwise.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def positive(name: str, value: Any) -> int:
    """``value`` if it is an integer > 0.

    Raises:
        ValidationError: naming ``name`` otherwise.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValidationError(f"{name} must be a positive integer, got {value!r}")
    return value
