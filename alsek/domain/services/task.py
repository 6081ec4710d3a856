"""Tasks: a function plus everything needed to run it on a worker pool.

Building messages lives in :mod:`~alsek.domain.services.message_builder`, deferred mode in
:mod:`~alsek.domain.services.deferral`; this module holds the task and the hooks a worker calls.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from alsek.domain.model import defaults
from alsek.domain.model.backoff import DEFAULT_BACKOFF, Backoff
from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.message import Message
from alsek.domain.model.naming import validate_queue_name, validate_task_name
from alsek.domain.model.priority import validate_priority
from alsek.domain.model.status import TaskStatus
from alsek.domain.services import revocation, serialization
from alsek.domain.services.message_builder import (
    DEFAULT_MAX_RETRIES,
    CallbackType,
    backoff_option,
    max_retries_option,
    mechanism_option,
    positive_ms,
)
from alsek.domain.services.submission import Submitting
from alsek.domain.services.task_call import accepts_message, call_with_message

if TYPE_CHECKING:
    from alsek.domain.services.broker import Broker
    from alsek.domain.services.result_store import ResultStore
    from alsek.domain.services.status_tracker import StatusTracker

log = logging.getLogger("alsek.task")

__all__ = ["DEFAULT_MAX_RETRIES", "CallbackType", "Task"]


class Task(Submitting):
    """A function that runs on worker pools when messages for it are submitted.

    The wrapped function keeps working when called directly. Parameters may be given by position
    in Alsek 1.3.2's order (``priority`` comes last).

    Args:
        function: what to run.
        broker: where messages go.
        name: the task's name (default: the function's name).
        queue: the queue its messages go to (default ``"alsek_queue"``).
        timeout: the longest a run may take, in milliseconds (default 3,600,000).
        max_retries: retries after a failure (None: without limit; default 3).
        backoff: wait between retries (default ``ExponentialBackoff()``; None: no wait).
        result_store: stores each message's result, when given.
        status_tracker: records each message's status, when given.
        mechanism: ``"process"`` (default) or ``"thread"``: which worker pool runs it.
        no_positional_args: refuse ``generate(args=...)`` (keyword arguments only).
        priority: default message priority; lower runs first.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        broker: Broker,
        name: str | None = None,
        queue: str | None = None,
        timeout: int = defaults.DEFAULT_TASK_TIMEOUT_MS,
        max_retries: int | None = DEFAULT_MAX_RETRIES,
        backoff: Backoff | None = DEFAULT_BACKOFF,
        result_store: ResultStore | None = None,
        status_tracker: StatusTracker | None = None,
        mechanism: str = defaults.DEFAULT_MECHANISM,
        no_positional_args: bool = False,
        priority: int = 0,
    ) -> None:
        self.function = function
        self.broker = broker
        self.name = validate_task_name(name or getattr(function, "__name__", ""))
        self.queue = validate_queue_name(queue or defaults.DEFAULT_QUEUE)
        self.priority = validate_priority(priority)
        self.timeout = positive_ms("timeout", timeout)
        self.max_retries = max_retries_option(max_retries)
        self.backoff = backoff_option(backoff)
        self.mechanism = mechanism_option(mechanism)
        self.no_positional_args = bool(no_positional_args)
        self.status_tracker = status_tracker
        self.result_store = result_store
        self.passes_message = accepts_message(function)
        #: Whether the function is ``async def``: workers await it (on an event loop).
        self.is_async = inspect.iscoroutinefunction(function)
        functools.update_wrapper(self, function)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, queue={self.queue!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def serialize(self) -> dict[str, Any]:
        """``{"task": class, "settings": {...}}`` that :meth:`deserialize` rebuilds (1.3.2)."""
        return serialization.task_data(self)

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Task:
        """The task :meth:`serialize` described, with a fresh broker and backend."""
        return serialization.task_from_data(data)

    # -- hooks a worker calls (override in a base_task) -------------------------------------------

    is_triggered = False

    def pre_op(self, message: Message) -> None:
        """Run before the function, on the worker."""

    def op(self, message: Message) -> Any:
        """Run the function with the message's arguments (and the message, when it asks)."""
        return call_with_message(self.function, message, pass_message=self.passes_message)

    def execute(self, message: Message) -> Any:
        """What the worker runs between :meth:`pre_op` and :meth:`post_op` (default: :meth:`op`)."""
        return self.op(message)

    def post_op(self, message: Message, result: Any) -> None:
        """Run after the function, on the worker: after a success with its result, after a failure
        with ``result=None`` and ``message.exception_details`` already set."""

    def do_callback(self, message: Message, result: Any) -> bool:
        """Whether to submit ``message``'s callback (only asked when it has one)."""
        return True

    def do_retry(self, message: Message, exception: BaseException) -> bool:
        """Whether to retry ``message`` after ``exception`` (default: below ``max_retries``)."""
        return self.max_retries is None or message.retries < self.max_retries

    # -- notifications (override in a base_task; an error they raise is logged, not acted on) --

    def on_submit(self, message: Message) -> None:
        """Called after ``message`` was submitted by :meth:`generate` (or by a trigger)."""

    def on_success(self, message: Message, result: Any) -> None:
        """Called on the worker when ``message`` succeeded and is being acknowledged."""

    def on_retry(self, message: Message, exception: BaseException) -> None:
        """Called on the worker when ``message`` failed with ``exception`` and will be retried."""

    def on_failure(self, message: Message, exception: BaseException) -> None:
        """Called on the worker when ``message`` failed with ``exception`` for good."""

    def on_revocation(self, message: Message, exception: BaseException | None, result: Any) -> None:
        """Called on the worker when a run of the revoked ``message`` ended (instead of
        :meth:`on_failure`)."""

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
        broker keeps one), record it as FAILED (with a status tracker), mark it revoked and tell
        the workers, who interrupt a run in progress.

        Nothing happens when the message already finished (its status is terminal), nor, with
        ``skip_if_running``, while it runs (status RUNNING), as in Alsek 1.3.2.

        Raises:
            AttributeError: if ``skip_if_running`` is given without a status tracker.
        """
        revocation.revoke(
            self.broker.backend, message, status_tracker=self.status_tracker,
            skip_if_running=skip_if_running, dlq_ttl=self.broker.dlq_ttl,
        )  # fmt: skip

    def is_revoked(self, message: Message) -> bool:
        """Whether ``message`` has been revoked."""
        return revocation.is_revoked(self.broker.backend, message)
