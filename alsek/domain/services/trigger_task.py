"""Tasks submitted on a schedule (cron, date or interval triggers)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message
from alsek.domain.services.task import Task
from alsek.domain.services.task_call import has_parameters
from alsek.ports.scheduler import Scheduler

log = logging.getLogger("alsek.trigger")


class TriggerTask(Task):
    """A task whose :meth:`generate` schedules submissions on a trigger.

    Every time the trigger fires, a copy of the generated (progenitor) message is submitted under a
    new uuid with ``progenitor_uuid`` set, so every run's result is reachable from the progenitor
    (``ResultStore.get(progenitor, descendants=True)``). Scheduling lasts as long as the process.

    Args:
        function: what to run; it may not declare parameters.
        broker: where messages go.
        trigger: an apscheduler trigger.
        scheduler: runs the trigger (an ``ApschedulerScheduler`` by default, set by ``task()``).
        **options: as for :class:`Task`.
    """

    is_triggered = True

    def __init__(
        self,
        function: Callable[..., Any],
        broker: Any,
        *,
        trigger: Any,
        scheduler: Scheduler,
        **options: Any,
    ) -> None:
        if has_parameters(function):
            raise ValidationError(
                f"task {getattr(function, '__name__', function)!r} has a trigger, so its function "
                "may not declare parameters"
            )
        scheduler.validate_trigger(trigger)
        super().__init__(function, broker, **options)
        self.trigger = trigger
        self.scheduler = scheduler

    def generate(self, *args: Any, submit: bool = True, **kwargs: Any) -> Message:  # type: ignore[override]
        """Build the progenitor message and schedule its copies on the trigger.

        Takes the same arguments as :meth:`Task.generate` (``args``/``kwargs`` must be empty).
        With ``submit=False`` (or when deferred) nothing is scheduled.

        Returns:
            The progenitor message (itself never submitted).
        """
        if kwargs.get("args") or kwargs.get("kwargs") or args:
            raise ValidationError(f"trigger task {self.name!r} takes no arguments")
        schedule = submit and not self.deferred
        progenitor = super().generate(submit=False, **kwargs)
        if schedule:
            self.scheduler.add_job(self.name, lambda: self._fire(progenitor), self.trigger)
        return progenitor

    def _fire(self, progenitor: Message) -> None:
        run = progenitor.duplicate()
        run.progenitor_uuid = progenitor.uuid
        run.created_at = run.updated_at = self.broker.backend.clock.now_ms()
        try:
            self._submit(run)
        except Exception:  # a scheduler thread must survive a failed submission
            log.exception("Trigger of %s could not submit %s.", self.name, run.summary)

    def pause(self) -> None:
        """Stop submitting until :meth:`resume`."""
        self.scheduler.pause_job(self.name)

    def resume(self) -> None:
        """Submit on the trigger again after :meth:`pause`."""
        self.scheduler.resume_job(self.name)

    def clear(self) -> None:
        """Remove the scheduled submissions."""
        self.scheduler.remove_job(self.name)

    def shutdown(self) -> None:
        """Stop the scheduler itself."""
        self.scheduler.shutdown()
