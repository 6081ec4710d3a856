"""Tasks submitted on a schedule (cron, date or interval triggers)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from alsek.domain.model.effects import Effects, Write
from alsek.domain.model.errors import SchedulingError, ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.lineage import make_run, runs_name
from alsek.domain.services.task import Task
from alsek.domain.services.task_call import has_parameters
from alsek.ports.scheduler import Scheduler

log = logging.getLogger("alsek.trigger")


class TriggerTask(Task):
    """A task whose :meth:`generate` schedules submissions on a trigger.

    Every time the trigger fires, a copy of the generated (progenitor) message is submitted as a
    *run*: under a uuid derived from the progenitor's and the run number, with ``progenitor_uuid``
    set and its callbacks renamed after it, and the run count is stored with the submission. So
    every run's result (and its callbacks') is reachable from the progenitor without scanning
    (``ResultStore.get(progenitor, descendants=True)``). Scheduling lasts as long as the process.

    Args:
        function: what to run; it may not declare parameters.
        broker: where messages go.
        trigger: an apscheduler trigger.
        scheduler: runs the trigger (an ``ApschedulerScheduler`` by default, set by ``task()``).
        *args: :class:`Task`'s parameters after ``broker``, by position.
        **options: as for :class:`Task`.
    """

    is_triggered = True

    def __init__(
        self,
        function: Callable[..., Any],
        broker: Any,
        *args: Any,
        trigger: Any,
        scheduler: Scheduler,
        **options: Any,
    ) -> None:
        if has_parameters(function):
            raise SchedulingError(
                f"task {getattr(function, '__name__', function)!r} has a trigger, so its function "
                "may not declare parameters"
            )
        scheduler.validate_trigger(trigger)
        super().__init__(function, broker, *args, **options)
        self.trigger = trigger
        self.scheduler = scheduler
        self._paused = False

    def generate(self, *args: Any, submit: bool = True, **kwargs: Any) -> Message:  # type: ignore[override]
        """Build the progenitor message and schedule its runs on the trigger.

        Takes the same arguments as :meth:`Task.generate` (``args``/``kwargs`` must be empty).
        With ``submit=False`` (or when deferred) nothing is scheduled. Generating again replaces
        the schedule of the previous progenitor.

        Returns:
            The progenitor message (itself never submitted).
        """
        if kwargs.get("args") or kwargs.get("kwargs") or args:
            raise ValidationError(f"trigger task {self.name!r} takes no arguments")
        schedule = submit and not self.deferred
        progenitor = super().generate(submit=False, **kwargs)
        if schedule:
            first = self._runs_so_far(progenitor) if kwargs.get("uuid") else 0
            self.scheduler.add_job(self.name, _Runs(self, progenitor, first), self.trigger)
            if self._paused:
                self.scheduler.pause_job(self.name)
        return progenitor

    def _runs_so_far(self, progenitor: Message) -> int:
        """Runs already fired for a progenitor whose uuid was given (so none is reused)."""
        runs = self.broker.backend.get(runs_name(str(progenitor.uuid)), default=0)
        return runs if isinstance(runs, int) and runs > 0 else 0

    def _fire(self, progenitor: Message, index: int) -> None:
        run = make_run(progenitor, index, self.broker.backend.clock.now_ms())
        effects = self.status_effects(run, TaskStatus.SUBMITTED)
        store = self.result_store
        ttl = progenitor.result_ttl if store is None else store.ttl_for(progenitor)
        if ttl != 0:
            effects += Effects(writes=(Write(runs_name(str(progenitor.uuid)), index + 1, ttl),))
        try:
            self.broker.submit(run, effects=effects)
        except Exception:  # a scheduler thread must survive a failed submission
            log.exception("Trigger of %s could not submit %s.", self.name, run.summary)

    @property
    def generated(self) -> bool:
        """Whether a schedule is set up (by :meth:`generate`)."""
        return self.scheduler.has_job(self.name)

    def pause(self) -> None:
        """Stop submitting until :meth:`resume` (also holds a schedule generated later)."""
        self._paused = True
        if self.scheduler.has_job(self.name):
            self.scheduler.pause_job(self.name)

    def resume(self) -> None:
        """Submit on the trigger again after :meth:`pause`."""
        self._paused = False
        if self.scheduler.has_job(self.name):
            self.scheduler.resume_job(self.name)

    def clear(self) -> None:
        """Remove the scheduled submissions (no error when nothing is scheduled)."""
        self.scheduler.remove_job(self.name)

    def shutdown(self) -> None:
        """Stop the scheduler itself (a later :meth:`generate` starts it again)."""
        self.scheduler.shutdown()


class _Runs:
    """The scheduled job: each call submits the next run of ``progenitor``.

    The scheduler never overlaps calls of one job, so the run number needs no lock; it advances
    even when a submission fails, so that a run that did reach the backend is never duplicated.
    """

    def __init__(self, task: TriggerTask, progenitor: Message, first: int) -> None:
        self._task = task
        self._progenitor = progenitor
        self._next = first

    def __call__(self) -> None:
        index, self._next = self._next, self._next + 1
        self._task._fire(self._progenitor, index)
