"""What a worker does with one message: run the task's hooks, then decide how the message ends.

``run_task`` calls ``pre_op`` → ``execute`` (the function) → ``post_op`` (and ``do_callback`` when
there is a callback) and captures the outcome; ``announce`` calls the ``on_*`` notification hooks. ``settle`` turns an outcome into a :class:`Settlement`: acknowledge
it (with the result, the SUCCEEDED status and the callback as effects of the same atomic step), retry
it (``do_retry`` said yes: RETRYING status, exception details kept), or fail it (FAILED status and,
with a result store, a failure record; to the dead letter queue when enabled); a message of a task this worker does not know may be deferred
(given back for a while: another worker may know it). Neither function touches the backend; the
:class:`~alsek.domain.services.message_processor.MessageProcessor` applies settlements.
"""

from __future__ import annotations

import enum
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from attrs import frozen

from alsek.domain.model.callback import next_callback
from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.errors import RevokedError, UnknownTaskError
from alsek.domain.model.message import Message
from alsek.domain.model.outcome import Outcome
from alsek.domain.model.status import TaskStatus
from alsek.domain.services import task_log

if TYPE_CHECKING:
    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.processing")


def run_task(task: Task, message: Message) -> Outcome:
    """Run ``message`` on ``task``: ``pre_op``, ``execute`` (the function), ``post_op``, then
    ``do_callback``.

    Anything raised by any of them (a timeout or revocation delivered into the thread included)
    makes the run a failure. As in Alsek 1.3.2, ``post_op`` also runs after a failure, with
    ``result=None`` and ``message.exception_details`` set; what it raises then is logged and the
    original failure stands.
    """
    task_log.started(message)
    began = time.perf_counter()
    try:
        task.pre_op(message)
        result = task.execute(message)
    except BaseException as error:  # the task's errors are data here, whatever they are
        return _failed(task, message, error, began)
    return _succeeded(task, message, result, began)


async def arun_task(
    task: Task,
    message: Message,
    guard: Callable[[Awaitable[Any]], Awaitable[Any]] | None = None,
) -> Outcome:
    """:func:`run_task` for an ``async def`` task: the same hooks and rules, with the function's
    coroutine awaited (through ``guard`` when given: the runtime's way to turn a cancellation
    into the timeout or revocation that caused it)."""
    task_log.started(message)
    began = time.perf_counter()
    try:
        task.pre_op(message)
        result = task.execute(message)
        if inspect.isawaitable(result):
            result = await (result if guard is None else guard(result))
    except BaseException as error:  # the task's errors are data here, whatever they are
        return _failed(task, message, error, began)
    return _succeeded(task, message, result, began)


def _failed(task: Task, message: Message, error: BaseException, began: float) -> Outcome:
    outcome = _timed(Outcome.failure(error), began)
    message.exception_details = exception_details(outcome)
    _post_op_after_failure(task, message)
    return outcome


def _succeeded(task: Task, message: Message, result: Any, began: float) -> Outcome:
    if message.exception_details is not None:  # the setter's hooks cost more than this check
        message.exception_details = None  # an earlier attempt's failure is over (as 1.3.2)
    try:
        task.post_op(message, result)
        callback = bool(message.callback_message_data) and bool(task.do_callback(message, result))
    except BaseException as error:
        return _timed(Outcome.failure(error), began)
    return Outcome(result=result, callback=callback, runtime_ms=_since(began))


def _since(began: float) -> float:
    return (time.perf_counter() - began) * 1000


def _timed(outcome: Outcome, began: float) -> Outcome:
    return attrs.evolve(outcome, runtime_ms=_since(began))


def _post_op_after_failure(task: Task, message: Message) -> None:
    try:
        task.post_op(message, None)
    except BaseException:  # an interrupt landing here included: the run has failed already
        log.exception("post_op() of %s raised after %s failed.", task.name, message.summary)


def announce(task: Task | None, settlement: Settlement, outcome: Outcome) -> None:
    """Call the task's notification hook for how ``settlement`` ends its message: ``on_success``,
    ``on_retry``, ``on_failure``, or ``on_revocation`` for a revoked run. Called where the task
    ran, once the settlement is decided (an acknowledgement then leaves in the next batch). What a
    hook raises is logged and changes nothing."""
    if task is None:
        return
    message, error = settlement.message, outcome.error
    if settlement.verdict is Verdict.ACK:
        task_log.succeeded(message, outcome)
    elif settlement.verdict in (Verdict.RETRY, Verdict.FAIL):
        task_log.failed(message, outcome, retry=settlement.verdict is Verdict.RETRY)
    try:
        if isinstance(error, RevokedError):
            task.on_revocation(message, error, None)
        elif settlement.verdict is Verdict.ACK:
            task.on_success(message, outcome.result)
        elif settlement.verdict is Verdict.RETRY:
            task.on_retry(message, error or Exception("retried"))
        else:
            task.on_failure(message, error or Exception("failed"))
    except Exception:
        log.exception("A notification hook of %s raised for %s.", task.name, message.summary)


def exception_details(outcome: Outcome) -> dict[str, Any]:
    """``{"name", "text", "traceback"}`` of a failed outcome, as kept on the message."""
    error = outcome.error
    return {
        "name": type(error).__name__,
        "text": str(error),
        "traceback": outcome.traceback,
    }


class Verdict(enum.Enum):
    """How a message's run ends."""

    ACK = "ack"
    RETRY = "retry"
    FAIL = "fail"
    DEFER = "defer"  # not run here: back to the queue for ``delay_ms``


@frozen
class Settlement:
    """A decision about a finished run, to be applied to the backend in one atomic step.

    Attributes:
        verdict: acknowledge, retry, fail or defer.
        message: the message (exception details set when the run failed).
        effects: what commits with it: result, status, callback.
        delay_ms: how long a deferred message waits before it is delivered again.
    """

    verdict: Verdict
    message: Message
    effects: Effects = NO_EFFECTS
    delay_ms: int = 0


def plain_failure(message: Message, error: BaseException) -> Settlement:
    """Fail ``message`` with ``error`` as its exception details and no effects: the way out
    for a message whose settlement itself cannot be made or applied (a poison message)."""
    message.exception_details = exception_details(Outcome.failure(error))
    return Settlement(Verdict.FAIL, message)


def _wants_retry(task: Task, message: Message, error: BaseException) -> bool:
    if isinstance(error, RevokedError):
        return False
    try:
        return bool(task.do_retry(message, error))
    except Exception:
        log.exception("do_retry() of %s raised; failing %s.", task.name, message.summary)
        return False


def _callback_effects(
    task: Task, message: Message, result: Any, tasks: Mapping[str, Task] | None
) -> Effects:
    callback = next_callback(message, result)
    if callback is None:
        return NO_EFFECTS
    callback_task = (tasks or {}).get(callback.task_name) or task.broker.tasks.get(
        callback.task_name
    )
    status = (
        callback_task.status_effects(callback, TaskStatus.SUBMITTED)
        if callback_task is not None
        else NO_EFFECTS
    )
    return Effects(submits=(callback,)) + status


def _combined(*parts: Effects | None) -> Effects:
    """The sum of the non-empty ``parts`` (the hot path usually has none: nothing to build)."""
    present = [p for p in parts if p]
    if not present:
        return NO_EFFECTS
    total = present[0]
    for part in present[1:]:
        total += part
    return total


def settle_safely(
    task: Task | None,
    message: Message,
    outcome: Outcome,
    tasks: Mapping[str, Task] | None = None,
) -> Settlement:
    """:func:`settle`, or a :func:`plain_failure` when settling raises (bad callback data, a
    hook that raises while building effects): a message must never be left unsettled, or it
    runs again every lease, forever."""
    try:
        return settle(task, message, outcome, tasks)
    except Exception as error:  # noqa: BLE001 - any error here would loop the message
        log.exception("Could not settle %s; failing it.", message.summary)
        return plain_failure(message, error)


def settle(
    task: Task | None,
    message: Message,
    outcome: Outcome,
    tasks: Mapping[str, Task] | None = None,
) -> Settlement:
    """Decide how ``message`` ends after a run of ``task`` (None: the task is unknown).

    Success: acknowledged with its result, the SUCCEEDED status and, when ``outcome.callback``,
    the callback submitted (all effects of the ack; the callback's task, for its SUBMITTED status, is
    looked up in ``tasks``, then in the task's broker). Failure: retried if ``do_retry`` says so
    (never after a revocation), with the RETRYING status; else failed with the FAILED status.
    """
    if task is None:
        error = UnknownTaskError(f"unknown task {message.task_name!r}")
        message.exception_details = exception_details(Outcome.failure(error))
        return Settlement(Verdict.FAIL, message)
    if outcome.succeeded:
        effects = _combined(
            task.result_effects(message, outcome.result),
            task.status_effects(message, TaskStatus.SUCCEEDED),
            _callback_effects(task, message, outcome.result, tasks) if outcome.callback else None,
        )
        return Settlement(Verdict.ACK, message, effects)
    assert outcome.error is not None
    message.exception_details = exception_details(outcome)
    if _wants_retry(task, message, outcome.error):
        return Settlement(Verdict.RETRY, message, task.status_effects(message, TaskStatus.RETRYING))
    return Settlement(
        Verdict.FAIL,
        message,
        _combined(task.status_effects(message, TaskStatus.FAILED), task.failure_effects(message)),
    )
