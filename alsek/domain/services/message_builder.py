"""Building a task's messages: checking the task's options and the arguments of ``generate``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alsek.domain.model import defaults
from alsek.domain.model.backoff import Backoff, backoff_or_default
from alsek.domain.model.callback import nest_callbacks
from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message

if TYPE_CHECKING:
    from alsek.domain.services.task import Task

DEFAULT_MAX_RETRIES = 3
CallbackType = Message | tuple[Message, ...] | list[Message]

#: The arguments of ``Task.generate`` that describe the message (``submit`` and ``ttl`` aside).
GENERATE_FIELDS = (
    "args", "kwargs", "priority", "metadata", "result_ttl", "uuid", "timeout_override", "delay",
    "previous_result", "callback", "queue",
)  # fmt: skip


def positive_ms(name: str, value: Any) -> int:
    """``value`` if it is a positive integer (ms).

    Raises:
        ValidationError: naming ``name`` otherwise.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValidationError(f"{name} must be a positive integer (ms), got {value!r}")
    return value


def max_retries_option(value: Any) -> int | None:
    """``value`` if it is None or an integer >= 0.

    Raises:
        ValidationError: otherwise.
    """
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValidationError(f"max_retries must be None or a non-negative int, got {value!r}")
    return value


def backoff_option(value: Any) -> Backoff:
    """The policy for the ``backoff`` option (None: no waiting).

    Raises:
        ValidationError: if ``value`` is neither a ``Backoff`` nor None.
    """
    if value is not None and not isinstance(value, Backoff):
        raise ValidationError(f"backoff must be a Backoff or None, got {type(value).__name__}")
    return backoff_or_default(value)


def mechanism_option(value: Any) -> str:
    """``value`` if it is a supported mechanism (``"process"`` or ``"thread"``).

    Raises:
        ValidationError: otherwise.
    """
    if value not in defaults.MECHANISMS:
        raise ValidationError(f"mechanism must be one of {defaults.MECHANISMS}, got {value!r}")
    return str(value)


def build_message(task: Task, *, callback: CallbackType | None, **fields: Any) -> Message:
    """The message of one ``generate`` call of ``task`` (``fields``: :data:`GENERATE_FIELDS`,
    with ``timeout`` for ``timeout_override``).

    Raises:
        ValidationError: for invalid arguments, positional arguments given to a task built with
            ``no_positional_args``, or a callback whose task has a trigger.
    """
    if fields["args"] and task.no_positional_args:
        raise ValidationError(f"task {task.name!r} does not accept positional arguments")
    if callback is not None:
        check_callback(task, callback)
    return Message(
        task_name=task.name,
        queue=fields["queue"] or task.queue,
        args=fields["args"],
        kwargs=fields["kwargs"],
        priority=task.priority if fields["priority"] is None else fields["priority"],
        metadata=fields["metadata"],
        result_ttl=fields["result_ttl"],
        uuid=fields["uuid"],
        timeout=task.timeout if fields["timeout"] is None else fields["timeout"],
        created_at=task.broker.backend.clock.now_ms(),
        delay=fields["delay"] or 0,
        previous_result=fields["previous_result"],
        callback_message_data=None if callback is None else nest_callbacks(callback).data,
        backoff_settings=task.backoff.settings,
        mechanism=task.mechanism,
    )


def check_callback(task: Task, callback: CallbackType) -> None:
    """Refuse a callback whose task (registered on ``task``'s broker) has a trigger.

    Raises:
        ValidationError: naming the triggered callback task.
    """
    chain = [callback] if isinstance(callback, Message) else list(callback)
    for item in chain:
        registered = task.broker.tasks.get(getattr(item, "task_name", ""))
        if registered is not None and registered.is_triggered:
            raise ValidationError(f"callback task {item.task_name!r} has a trigger")


def generate_fields(call: Mapping[str, Any]) -> dict[str, Any]:
    """The :func:`build_message` fields of one ``generate_many`` item.

    Raises:
        ValidationError: for a key ``generate`` does not take.
    """
    unknown = set(call) - set(GENERATE_FIELDS)
    if unknown:
        raise ValidationError(
            f"generate_many() items take {GENERATE_FIELDS}, got {sorted(unknown)}"
        )
    fields = {name: call.get(name) for name in GENERATE_FIELDS}
    fields["timeout"] = fields.pop("timeout_override")
    return fields
