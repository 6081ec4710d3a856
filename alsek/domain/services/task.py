"""Tasks: a function plus everything needed to run it on a worker pool."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from alsek.domain.model import defaults
from alsek.domain.model.backoff import DEFAULT_BACKOFF, Backoff, backoff_or_default
from alsek.domain.model.callback import nest_callbacks
from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.errors import MessageAlreadyExistsError, ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import validate_queue_name, validate_task_name
from alsek.domain.model.priority import validate_priority
from alsek.domain.model.status import TaskStatus
from alsek.domain.services import revocation
from alsek.domain.services.task_call import accepts_message, call_with_message

if TYPE_CHECKING:
    from alsek.domain.services.broker import Broker
    from alsek.domain.services.result_store import ResultStore
    from alsek.domain.services.status_tracker import StatusTracker

log = logging.getLogger("alsek.task")

DEFAULT_MAX_RETRIES = 3
CallbackType = Message | tuple[Message, ...] | list[Message]


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValidationError(f"{name} must be a positive integer (ms), got {value!r}")
    return value


def _max_retries(value: Any) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValidationError(f"max_retries must be None or a non-negative int, got {value!r}")
    return value


def _backoff(value: Any) -> Backoff:
    if value is not None and not isinstance(value, Backoff):
        raise ValidationError(f"backoff must be a Backoff or None, got {type(value).__name__}")
    return backoff_or_default(value)


def _mechanism(value: Any) -> str:
    if value not in defaults.MECHANISMS:
        raise ValidationError(f"mechanism must be one of {defaults.MECHANISMS}, got {value!r}")
    return str(value)


class Task:
    """A function that runs on worker pools when messages for it are submitted.

    The wrapped function keeps working when called directly.

    Args:
        function: what to run.
        broker: where messages go.
        name: the task's name (default: the function's name).
        queue: the queue its messages go to (default ``"alsek_queue"``).
        priority: default message priority; lower runs first.
        timeout: the longest a run may take, in milliseconds (default 3,600,000).
        max_retries: retries after a failure (None: without limit; default 3).
        backoff: wait between retries (default ``ExponentialBackoff()``; None: no wait).
        mechanism: ``"process"`` (default) or ``"thread"``.
        status_tracker: records each message's status, when given.
        result_store: stores each message's result, when given.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        broker: Broker,
        *,
        name: str | None = None,
        queue: str | None = None,
        priority: int = 0,
        timeout: int = defaults.DEFAULT_TASK_TIMEOUT_MS,
        max_retries: int | None = DEFAULT_MAX_RETRIES,
        backoff: Backoff | None = DEFAULT_BACKOFF,
        mechanism: str = defaults.DEFAULT_MECHANISM,
        status_tracker: StatusTracker | None = None,
        result_store: ResultStore | None = None,
    ) -> None:
        self.function = function
        self.broker = broker
        self.name = validate_task_name(name or getattr(function, "__name__", ""))
        self.queue = validate_queue_name(queue or defaults.DEFAULT_QUEUE)
        self.priority = validate_priority(priority)
        self.timeout = _positive_int("timeout", timeout)
        self.max_retries = _max_retries(max_retries)
        self.backoff = _backoff(backoff)
        self.mechanism = _mechanism(mechanism)
        self.status_tracker = status_tracker
        self.result_store = result_store
        self.passes_message = accepts_message(function)
        self._deferred = False
        functools.update_wrapper(self, function)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, queue={self.queue!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    # -- building messages -------------------------------------------------------------------

    def defer(self) -> Task:
        """Make the next :meth:`generate` build the message without submitting it."""
        self._deferred = True
        return self

    def cancel_defer(self) -> Task:
        """Undo :meth:`defer`."""
        self._deferred = False
        return self

    @property
    def deferred(self) -> bool:
        """Whether the next :meth:`generate` will skip submission."""
        return self._deferred

    def generate(
        self,
        args: list[Any] | tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        priority: int | None = None,
        metadata: dict[str, Any] | None = None,
        result_ttl: int | None = None,
        uuid: str | None = None,
        timeout_override: int | None = None,
        delay: int | None = None,
        previous_result: Any = None,
        callback: CallbackType | None = None,
        queue: str | None = None,
        submit: bool = True,
    ) -> Message:
        """Build a message for this task and (unless deferred or ``submit=False``) submit it.

        Args:
            args: positional arguments for the function.
            kwargs: keyword arguments for the function.
            priority: overrides the task's priority (lower runs first).
            metadata: user data carried with the message.
            result_ttl: how long to keep the result, in milliseconds.
            uuid: the message id (generated when omitted).
            timeout_override: overrides the task's timeout, in milliseconds.
            delay: milliseconds to wait before the first run.
            previous_result: a result to hand the function's message.
            callback: a message, or a tuple of messages run one after another, submitted when
                this one succeeds.
            queue: overrides the task's queue.
            submit: whether to submit the message now.

        Returns:
            The message.

        Raises:
            ValidationError: for invalid arguments.
            SerializationError: if the arguments cannot be encoded (nothing is submitted).
        """
        try:
            message = self._build_message(
                args=args, kwargs=kwargs, priority=priority, metadata=metadata,
                result_ttl=result_ttl, uuid=uuid, timeout=timeout_override, delay=delay,
                previous_result=previous_result, callback=callback, queue=queue,
            )  # fmt: skip
            if submit and not self._deferred:
                self._submit(message)
            return message
        finally:
            self._deferred = False

    def generate_many(self, calls: Iterable[Mapping[str, Any]]) -> list[Message]:
        """Build and submit one message per item of ``calls``, in one round trip per few
        hundred messages (each message is still submitted whole or not at all).

        Args:
            calls: per message, the keyword arguments :meth:`generate` takes (``args``,
                ``kwargs``, ``priority``, ``delay``, ``uuid``, ...), e.g. ``[{"args": (1, 2)}]``.

        Returns:
            The messages, in order.

        Raises:
            ValidationError: for an invalid item (nothing is submitted), or on a triggered task.
            SerializationError: if anything cannot be encoded (nothing is submitted).
            MessageAlreadyExistsError: if some uuids were already stored (the others were
                submitted).
        """
        if self.is_triggered:
            raise ValidationError(f"{self.name} is triggered by its schedule: use generate()")
        messages = [self._build_message(**_generate_fields(call)) for call in calls]
        submissions = [(m, self.status_effects(m, TaskStatus.SUBMITTED)) for m in messages]
        stored = self.broker.submit_many(submissions)
        existing = [m.uuid for m, new in zip(messages, stored, strict=True) if not new]
        if existing:
            raise MessageAlreadyExistsError(f"already stored, not submitted again: {existing}")
        return messages

    def _build_message(self, *, callback: CallbackType | None, **fields: Any) -> Message:
        if callback is not None:
            self._check_callback(callback)
        return Message(
            task_name=self.name,
            queue=fields["queue"] or self.queue,
            args=fields["args"],
            kwargs=fields["kwargs"],
            priority=self.priority if fields["priority"] is None else fields["priority"],
            metadata=fields["metadata"],
            result_ttl=fields["result_ttl"],
            uuid=fields["uuid"],
            timeout=self.timeout if fields["timeout"] is None else fields["timeout"],
            created_at=self.broker.backend.clock.now_ms(),
            delay=fields["delay"] or 0,
            previous_result=fields["previous_result"],
            callback_message_data=None if callback is None else nest_callbacks(callback).data,
            backoff_settings=self.backoff.settings,
            mechanism=self.mechanism,
        )

    def _check_callback(self, callback: CallbackType) -> None:
        chain = [callback] if isinstance(callback, Message) else list(callback)
        for item in chain:
            registered = self.broker.tasks.get(getattr(item, "task_name", ""))
            if registered is not None and registered.is_triggered:
                raise ValidationError(f"callback task {item.task_name!r} has a trigger")

    def _submit(self, message: Message) -> None:
        self.broker.submit(message, effects=self.status_effects(message, TaskStatus.SUBMITTED))

    # -- hooks a worker calls (override in a base_task) -------------------------------------------

    is_triggered = False

    def pre_op(self, message: Message) -> None:
        """Run before the function, on the worker."""

    def op(self, message: Message) -> Any:
        """Run the function with the message's arguments (and the message, when it asks)."""
        return call_with_message(self.function, message, pass_message=self.passes_message)

    def post_op(self, message: Message, result: Any) -> None:
        """Run after the function succeeded, on the worker."""

    def do_callback(self, message: Message, result: Any) -> bool:
        """Whether to submit ``message``'s callback (only asked when it has one)."""
        return True

    def do_retry(self, message: Message, exception: BaseException) -> bool:
        """Whether to retry ``message`` after ``exception`` (default: below ``max_retries``)."""
        return self.max_retries is None or message.retries < self.max_retries

    # -- effects of status tracking and result storage ----------------------------------------

    def status_effects(self, message: Message, status: TaskStatus) -> Effects:
        """The writes that record ``status`` for ``message`` (none without a status tracker)."""
        if self.status_tracker is None:
            return NO_EFFECTS
        return self.status_tracker.effects_for(message, status)

    def result_effects(self, message: Message, result: Any) -> Effects:
        """The writes that store ``result`` for ``message`` (none without a result store)."""
        if self.result_store is None:
            return NO_EFFECTS
        return self.result_store.effects_for(message, result)

    # -- revocation --------------------------------------------------------------------------

    def revoke(self, message: Message, skip_if_running: bool = False) -> None:
        """Revoke ``message``: remove it from its queue (into the dead letter queue, when the
        broker keeps one), record it as FAILED (with a status tracker; a finished message keeps
        its status), mark it revoked and tell the workers, who interrupt a run in progress
        unless ``skip_if_running``."""
        revocation.revoke(
            self.broker.backend, message, status_tracker=self.status_tracker,
            skip_if_running=skip_if_running, dlq_ttl=self.broker.dlq_ttl,
        )  # fmt: skip

    def is_revoked(self, message: Message) -> bool:
        """Whether ``message`` has been revoked."""
        return revocation.is_revoked(self.broker.backend, message)


_GENERATE_FIELDS = (
    "args", "kwargs", "priority", "metadata", "result_ttl", "uuid", "timeout_override", "delay",
    "previous_result", "callback", "queue",
)  # fmt: skip


def _generate_fields(call: Mapping[str, Any]) -> dict[str, Any]:
    """The ``_build_message`` fields of one :meth:`Task.generate_many` item."""
    unknown = set(call) - set(_GENERATE_FIELDS)
    if unknown:
        raise ValidationError(
            f"generate_many() items take {_GENERATE_FIELDS}, got {sorted(unknown)}"
        )
    fields = {name: call.get(name) for name in _GENERATE_FIELDS}
    fields["timeout"] = fields.pop("timeout_override")
    return fields
