"""The triggered task as users build it by hand (``alsek.core.task.TriggerTask``): Alsek 1.3.2's
``TriggerTask(function, trigger, broker, ...)``, with a scheduler of its own by default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alsek.domain.services.trigger_task import TriggerTask as ScheduledTask
from alsek.ports.scheduler import Scheduler


class TriggerTask(ScheduledTask):
    """A task whose ``generate()`` schedules submissions on ``trigger`` (see
    :class:`alsek.domain.services.trigger_task.TriggerTask`).

    Args:
        function: what to run; it may not declare parameters.
        trigger: an apscheduler trigger (cron, date or interval).
        broker: where messages go.
        *args: the other parameters of ``Task``, by position, in Alsek 1.3.2's order (``name``,
            ``queue``, ``timeout``, ``max_retries``, ``backoff``, ``result_store``,
            ``status_tracker``, ``mechanism``, ``no_positional_args``).
        scheduler: what runs the trigger (default: an apscheduler ``BackgroundScheduler`` of
            its own, as 1.3.2).
        **options: the other parameters of ``Task``, by name.

    Raises:
        SchedulingError: if ``function`` declares parameters.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        trigger: Any = None,
        broker: Any = None,
        *args: Any,
        scheduler: Scheduler | None = None,
        **options: Any,
    ) -> None:
        if scheduler is None:
            from alsek.adapters.scheduling.apscheduler import ApschedulerScheduler  # on use: slow

            scheduler = ApschedulerScheduler()
        super().__init__(function, broker, *args, trigger=trigger, scheduler=scheduler, **options)
