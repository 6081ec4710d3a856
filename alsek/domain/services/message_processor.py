"""Runs messages and applies their settlements to the backend, riding out backend outages.

A worker process uses one :class:`MessageProcessor`: it marks the run RUNNING (only when the task
has a status tracker; one request), runs the task, settles the outcome, and applies the
settlement. Acknowledgements are applied in batches that also lease the next messages
(:meth:`MessageProcessor.finish_acks`, one round trip for many tasks); retries and failures one
at a time (:meth:`MessageProcessor.finish`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from alsek.domain.model.effects import Effects
from alsek.domain.model.errors import (
    BackendConnectionError,
    BackendError,
    LeaseLostError,
    MessageDoesNotExistError,
    SerializationError,
    ValidationError,
)
from alsek.domain.model.message import Message
from alsek.domain.model.outcome import Outcome
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.processing import (
    Settlement,
    Verdict,
    announce,
    plain_failure,
    run_task,
    settle,
    settle_safely,
)
from alsek.ports.observer import SETTLE, STATUS

if TYPE_CHECKING:
    from alsek.domain.services.broker import Broker
    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.processing")

#: How long a message of an unknown task is given back to its queue before it is failed (ms).
DEFAULT_UNKNOWN_TASK_WINDOW_MS = 300_000
#: The first and the longest wait of such a message between two deliveries (ms).
UNKNOWN_TASK_DELAY_MS = (1_000, 60_000)


def unknown_name(uuid: str) -> str:
    """Where a worker notes when it first met message ``uuid`` of a task it does not know."""
    return f"unknown_tasks:{uuid}"


class MessageProcessor:
    """Runs messages of known tasks and settles them.

    Args:
        consumer: leases the messages (its broker and backend settle them).
        tasks: the tasks this worker runs, by name.
        unknown_task_window_ms: how long a message of a task this worker does not know keeps
            being given back to its queue (waits growing from 1 s to 1 min), so that during a
            rolling deploy or on a shared queue a worker that knows it runs it; then it is
            failed (to the dead letter queue). 0: fail it at once.

    Raises:
        ValidationError: if ``unknown_task_window_ms`` is not a non-negative int.
    """

    def __init__(
        self,
        consumer: Consumer,
        tasks: Mapping[str, Task],
        *,
        unknown_task_window_ms: int = DEFAULT_UNKNOWN_TASK_WINDOW_MS,
    ) -> None:
        if (
            not isinstance(unknown_task_window_ms, int)
            or isinstance(unknown_task_window_ms, bool)
            or unknown_task_window_ms < 0
        ):
            raise ValidationError(
                "unknown_task_window_ms must be a non-negative integer (ms), "
                f"got {unknown_task_window_ms!r}"
            )
        self.consumer = consumer
        self.broker = consumer.broker
        self.tasks = dict(tasks)
        self.unknown_task_window_ms = unknown_task_window_ms

    def task_for(self, message: Message) -> Task | None:
        """The task that runs ``message``, or None if this worker does not know it."""
        return self.tasks.get(message.task_name)

    def unknown_task(self, message: Message) -> Settlement:
        """How ``message``, whose task this worker does not know, ends here: deferred while
        the unknown-task window lasts (counted from the first time a worker met it), then
        failed with :class:`UnknownTaskError` (logged as an error)."""
        waited = self._waited_for_its_task(message)
        if waited is not None and waited < self.unknown_task_window_ms:
            first, longest = UNKNOWN_TASK_DELAY_MS
            delay = min(max(waited, first), longest, self.unknown_task_window_ms - waited)
            log.warning("Unknown task %r in %s; giving it back for %s ms (failed after %s ms "
                        "of this).", message.task_name, message.summary, delay,
                        self.unknown_task_window_ms)  # fmt: skip
            return Settlement(Verdict.DEFER, message, delay_ms=delay)
        log.error("Unknown task %r in %s; failing it.", message.task_name, message.summary)
        failed = settle(None, message, Outcome())
        return Settlement(
            Verdict.FAIL, failed.message, Effects(deletes=(unknown_name(str(message.uuid)),))
        )

    def _waited_for_its_task(self, message: Message) -> int | None:
        """How long (ms) workers have been giving ``message`` back; None: fail it now."""
        if not self.unknown_task_window_ms:
            return None
        backend = self.broker.backend
        name, now = unknown_name(str(message.uuid)), backend.clock.now_ms()
        try:
            try:
                backend.set(name, now, nx=True, ttl=2 * self.unknown_task_window_ms)
                first = now
            except KeyError:  # met before: since when
                first = backend.get(name, default=now)
        except BackendError as error:  # cannot tell: give it back for the shortest wait
            log.warning("Could not note unknown task of %s: %s", message.summary, error)
            return 0
        return max(now - first, 0) if isinstance(first, int) else 0

    def begin(self, task: Task, message: Message) -> None:
        """Record the RUNNING status of ``message`` (only when ``task`` tracks statuses)."""
        effects = task.status_effects(message, TaskStatus.RUNNING)
        if not effects:
            return
        try:
            self.consumer.backend.apply(effects)
        except BackendError as error:  # a status is not worth failing a run for
            log.warning("Could not record RUNNING for %s: %s", message.summary, error)
            self.consumer.note_error(STATUS, error)

    def process(self, message: Message) -> Settlement:
        """Run ``message`` in this thread and decide how it ends (nothing is applied yet)."""
        task = self.task_for(message)
        if task is None:
            return self.unknown_task(message)
        self.begin(task, message)
        outcome = run_task(task, message)
        settlement = settle_safely(task, message, outcome, self.tasks)
        announce(task, settlement, outcome)
        return settlement

    def finish(self, settlement: Settlement) -> None:
        """Apply ``settlement`` (acknowledge, retry or fail its message).

        Backend outages are logged and retried with a growing pause; once the consumer's stop
        signal is set and a lease's worth of time has passed, it gives up (the lease then lapses
        and the message is delivered again: nothing is lost). A result the serializer rejects
        turns the run into a failure of the task; any other error applying it falls back to a
        plain failure (to the dead letter queue), so that no message loops forever. A holder
        whose lease lapsed and was taken over by another consumer changes nothing.
        """
        while True:
            try:
                self._riding_out_outages(
                    settlement.message.summary, functools.partial(self._apply, settlement)
                )
                return
            except SerializationError as error:
                settlement = self._unencodable(settlement, error)
            except MessageDoesNotExistError:
                log.info(
                    "%s was removed while it ran; nothing to settle.", settlement.message.summary
                )
                return
            except LeaseLostError as error:
                log.warning("Dropped the outcome of %s: %s.", settlement.message.summary, error)
                self.consumer.note_lapsed(1)
                return
            except Exception as error:  # noqa: BLE001 - see the docstring
                if settlement.verdict is Verdict.FAIL and not settlement.effects:
                    log.exception("Could not fail %s; its lease will lapse.",
                                  settlement.message.summary)  # fmt: skip
                    return
                log.exception("Could not settle %s; failing it.", settlement.message.summary)
                settlement = plain_failure(settlement.message, error)

    def finish_acks(self, settlements: Sequence[Settlement], *, claim_next: int) -> list[Message]:
        """Apply the acknowledgements ``settlements`` and lease up to ``claim_next`` messages,
        all in one round trip (outages ridden out as by :meth:`finish`).

        If any result cannot be encoded, nothing of the batch was written: each settlement is
        then applied on its own by :meth:`finish` (the unencodable ones fail), and the claim made
        after them.
        """
        acks = [(s.message, s.effects) for s in settlements if s.verdict is Verdict.ACK]
        if len(acks) != len(settlements):
            raise ValueError("finish_acks() takes acknowledgements only")
        summary = f"{len(acks)} acknowledgement(s)"
        try:
            claimed = self._riding_out_outages(
                summary, lambda: self.consumer.ack_many_and_claim(acks, limit=claim_next)
            )
        except Exception as error:  # noqa: BLE001 - e.g. an unencodable result: one by one
            if not isinstance(error, SerializationError):
                log.exception("Could not send %s together; settling each alone.", summary)
            for settlement in settlements:
                self.finish(settlement)
            return self.consumer.claim(claim_next) if claim_next else []
        for message, _ in acks:
            if message.linked_lock is not None:  # rare: one attribute read per message
                self.broker_for(message).release_linked_lock(message)
        return claimed

    def _riding_out_outages(
        self, summary: str, apply: Callable[[], list[Message]]
    ) -> list[Message]:
        clock = self.consumer.backend.clock
        first_error_at: int | None = None
        while True:
            try:
                return apply()
            except BackendConnectionError as error:
                now = clock.now_ms()
                first_error_at = now if first_error_at is None else first_error_at
                if (
                    self.consumer.stop_signal.is_set()
                    and now - first_error_at >= self.consumer.lease_ms
                ):
                    log.error("Gave up settling %s: %s", summary, error)
                    return []
                self.consumer.pause_after_error(error, SETTLE)
            except BackendError as error:  # not an outage: retrying the same call cannot help
                log.error("Could not settle %s (%s); it will be delivered again when its lease "
                          "lapses.", summary, error)  # fmt: skip
                self.consumer.pause_after_error(error, SETTLE)
                return []

    def broker_for(self, message: Message) -> Broker:
        """The broker of ``message``'s task (its dead letter settings apply), else the consumer's."""
        task = self.tasks.get(message.task_name)
        return self.broker if task is None else task.broker

    def _apply(self, settlement: Settlement) -> list[Message]:
        message, effects = settlement.message, settlement.effects
        broker = self.broker_for(message)
        if settlement.verdict is Verdict.ACK:
            broker.ack(message, effects=effects)
        elif settlement.verdict is Verdict.RETRY:
            broker.retry(message, effects=effects)
        elif settlement.verdict is Verdict.DEFER:
            if self.consumer.backend.release([message], delay_ms=settlement.delay_ms):
                log.warning("Could not give %s back: another consumer holds it now.",
                            message.summary)  # fmt: skip
        else:
            broker.fail(message, effects=effects)
        return []

    def _unencodable(self, settlement: Settlement, error: SerializationError) -> Settlement:
        log.error("Could not store the outcome of %s: %s", settlement.message.summary, error)
        task = self.tasks.get(settlement.message.task_name)
        if settlement.verdict is Verdict.ACK and task is not None:
            return settle_safely(task, settlement.message, Outcome.failure(error), self.tasks)
        # Even the failure's effects could not be encoded: fail it bare.
        return Settlement(Verdict.FAIL, settlement.message)
