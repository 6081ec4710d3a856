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

from alsek.domain.model.errors import (
    BackendConnectionError,
    BackendError,
    MessageDoesNotExistError,
    SerializationError,
)
from alsek.domain.model.message import Message
from alsek.domain.model.outcome import Outcome
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.processing import Settlement, Verdict, announce, run_task, settle

if TYPE_CHECKING:
    from alsek.domain.services.broker import Broker
    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.processing")


class MessageProcessor:
    """Runs messages of known tasks and settles them.

    Args:
        consumer: leases the messages (its broker and backend settle them).
        tasks: the tasks this worker runs, by name.
    """

    def __init__(self, consumer: Consumer, tasks: Mapping[str, Task]) -> None:
        self.consumer = consumer
        self.broker = consumer.broker
        self.tasks = dict(tasks)

    def task_for(self, message: Message) -> Task | None:
        """The task that runs ``message``, or None (logged as an error) if it is unknown."""
        task = self.tasks.get(message.task_name)
        if task is None:
            log.error("Unknown task %r in %s; failing it.", message.task_name, message.summary)
        return task

    def begin(self, task: Task, message: Message) -> None:
        """Record the RUNNING status of ``message`` (only when ``task`` tracks statuses)."""
        effects = task.status_effects(message, TaskStatus.RUNNING)
        if not effects:
            return
        try:
            self.consumer.backend.apply(effects)
        except BackendError as error:  # a status is not worth failing a run for
            log.warning("Could not record RUNNING for %s: %s", message.summary, error)

    def process(self, message: Message) -> Settlement:
        """Run ``message`` in this thread and decide how it ends (nothing is applied yet)."""
        task = self.task_for(message)
        if task is None:
            return settle(None, message, Outcome())
        self.begin(task, message)
        outcome = run_task(task, message)
        settlement = settle(task, message, outcome, self.tasks)
        announce(task, settlement, outcome)
        return settlement

    def finish(self, settlement: Settlement) -> None:
        """Apply ``settlement`` (acknowledge, retry or fail its message).

        Backend outages are logged and retried with a growing pause; once the consumer's stop
        signal is set and a lease's worth of time has passed, it gives up (the lease then lapses
        and the message is delivered again: nothing is lost). A result the serializer rejects
        turns the run into a failure of the task.
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
        except SerializationError:
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
                self.consumer.pause_after_error(error)
            except BackendError as error:  # not an outage: retrying the same call cannot help
                log.error("Could not settle %s (%s); it will be delivered again when its lease "
                          "lapses.", summary, error)  # fmt: skip
                self.consumer.pause_after_error(error)
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
        else:
            broker.fail(message, effects=effects)
        return []

    def _unencodable(self, settlement: Settlement, error: SerializationError) -> Settlement:
        log.error("Could not store the outcome of %s: %s", settlement.message.summary, error)
        task = self.tasks.get(settlement.message.task_name)
        if settlement.verdict is Verdict.ACK and task is not None:
            return settle(task, settlement.message, Outcome.failure(error), self.tasks)
        # Even the failure's effects could not be encoded: fail it bare.
        return Settlement(Verdict.FAIL, settlement.message)
