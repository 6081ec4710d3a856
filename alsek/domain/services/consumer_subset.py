"""What a consumer consumes: its queues (a list, a comma-separated string, or Alsek 1.3.2's
``subset``) and, optionally, the tasks whose messages it leases."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from alsek.domain.model.errors import ValidationError
from alsek.domain.model.naming import validate_queue_name

Subset = Sequence[str] | str | Mapping[str, Sequence[str]]


def names_of_queues(queues: Sequence[str] | str | None) -> tuple[str, ...] | None:
    """The queue names of ``queues`` (a list or a comma-separated string; None: all queues).

    Raises:
        ValidationError: for an empty list, a bad name or a duplicate.
    """
    if queues is None:
        return None
    if isinstance(queues, str):
        queues = [q for q in queues.split(",") if q.strip()]
    names = tuple(validate_queue_name(q.strip()) for q in queues)
    if not names:
        raise ValidationError("queues is empty: give at least one queue, or None for all")
    if len(set(names)) != len(names):
        raise ValidationError(f"duplicate queues in {list(names)}")
    return names


def queues_and_tasks(
    queues: Subset | None, subset: Subset | None, tasks: Collection[str] | None
) -> tuple[tuple[str, ...] | None, frozenset[str] | None]:
    """The queues and the task filter of a consumer, from ``queues`` or Alsek 1.3.2's ``subset``
    (a list of queues, or ``{queue: [task names]}``), and ``tasks``.

    Raises:
        ValidationError: if both ``queues`` and ``subset`` are given, or for bad names.
    """
    if queues is not None and subset is not None:
        raise ValidationError("give queues or subset (Alsek 1.3.2's name), not both")
    chosen = subset if queues is None else queues
    names = set(tasks) if tasks is not None else None
    if isinstance(chosen, Mapping):
        listed = {str(task) for group in chosen.values() for task in group}
        names = listed if names is None else names & listed
        chosen = list(chosen)
    if names is not None and not names:
        raise ValidationError("tasks is empty: give at least one task name, or None for all")
    return names_of_queues(chosen), None if names is None else frozenset(names)
