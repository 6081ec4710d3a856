"""What the ``alsek.tasks`` logger says about each run: a failure or retry at ERROR/WARNING
with the task, uuid, attempt, exception and traceback; a start and a success (with the run
time) at INFO, shown only when that logger is enabled for INFO (``--log-tasks``).

Every record carries the fields as ``extra`` attributes (``task``, ``uuid``, ``queue``,
``attempt``, and ``exception``, ``runtime_ms`` where known), for structured (JSON) logs.
"""

from __future__ import annotations

import logging
from typing import Any

from alsek.domain.model.errors import RevokedError
from alsek.domain.model.message import Message
from alsek.domain.model.outcome import Outcome

log = logging.getLogger("alsek.tasks")


def _fields(message: Message, **more: Any) -> dict[str, Any]:
    return {
        "task": message.task_name, "uuid": str(message.uuid), "queue": message.queue,
        "attempt": message.retries + 1, **more,
    }  # fmt: skip


def started(message: Message) -> None:
    """Log the start of a run (INFO)."""
    if log.isEnabledFor(logging.INFO):
        log.info("Started %s[%s] (attempt %s).", message.task_name, message.uuid,
                 message.retries + 1, extra=_fields(message))  # fmt: skip


def succeeded(message: Message, outcome: Outcome) -> None:
    """Log a successful run and its run time (INFO)."""
    if log.isEnabledFor(logging.INFO):
        runtime = outcome.runtime_ms
        took = "" if runtime is None else f" in {runtime:.1f} ms"
        log.info("Succeeded %s[%s]%s (attempt %s).", message.task_name, message.uuid, took,
                 message.retries + 1, extra=_fields(message, runtime_ms=runtime))  # fmt: skip


def failed(message: Message, outcome: Outcome, *, retry: bool) -> None:
    """Log a failed run: WARNING when it will be retried, else ERROR (to the dead letter queue
    when enabled), with its exception and traceback."""
    error = outcome.error
    name = type(error).__name__ if error is not None else "Error"
    if isinstance(error, RevokedError):
        what = "was revoked"
    elif retry:
        what = "failed; it will be retried"
    else:
        what = "failed for good"
    trace = f"\n{outcome.traceback.rstrip()}" if outcome.traceback else ""
    log.log(
        logging.WARNING if retry else logging.ERROR,
        "Task %s[%s] %s (attempt %s, queue %s): %s: %s%s",
        message.task_name, message.uuid, what, message.retries + 1, message.queue, name,
        error, trace,
        extra=_fields(message, exception=name, runtime_ms=outcome.runtime_ms),
    )  # fmt: skip
