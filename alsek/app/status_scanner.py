"""The status integrity scanner: the domain's scan on a scheduler, with the library's defaults
(an hourly apscheduler interval trigger on a scheduler of its own)."""

from __future__ import annotations

import logging
from typing import Any

from alsek.domain.services.broker import Broker
from alsek.domain.services.status_scanner import StatusIntegrityScan
from alsek.domain.services.status_tracker import StatusTracker
from alsek.ports.scheduler import Scheduler

log = logging.getLogger("alsek.status")

#: The default trigger: every hour.
HOURLY: Any = object()


class StatusTrackerIntegrityScanner(StatusIntegrityScan):
    """Runs the status integrity scan on a trigger, in the background, for as long as the
    process lives: statuses that are not terminal and whose message is no longer in the broker
    (a worker died before recording the end) are set to ``TaskStatus.UNKNOWN``.

    Args:
        status_tracker: whose statuses to check.
        broker: where the messages should be.
        trigger: when to scan (an apscheduler trigger; default: every hour); None: never on
            its own (call :meth:`scan`), as Alsek 1.3.2.
        scheduler: what runs the trigger (default: an :class:`ApschedulerScheduler` of its own).

    Raises:
        ValidationError: if ``trigger`` is not a trigger ``scheduler`` runs.
    """

    def __init__(
        self,
        status_tracker: StatusTracker,
        broker: Broker,
        trigger: Any = HOURLY,
        scheduler: Scheduler | None = None,
    ) -> None:
        super().__init__(status_tracker, broker)
        # apscheduler is imported on use: it is a large share of ``import alsek``, which every
        # worker start pays.
        from apscheduler.triggers.interval import IntervalTrigger

        from alsek.adapters.scheduling.apscheduler import ApschedulerScheduler

        self.trigger = IntervalTrigger(hours=1) if trigger is HOURLY else trigger
        self._owns_scheduler = scheduler is None
        self.scheduler = scheduler if scheduler is not None else ApschedulerScheduler()
        self._job_id = f"status-integrity-scan:{id(self):x}"
        if self.trigger is not None:
            self.scheduler.validate_trigger(self.trigger)
            self.scheduler.add_job(self._job_id, self._scan_safely, self.trigger)

    def _scan_safely(self) -> None:
        try:
            self.scan()
        except Exception:  # the scheduler thread must survive a failed scan (e.g. Redis down)
            log.exception("Status integrity scan failed; trying again on the next trigger.")

    def shutdown(self) -> None:
        """Stop scanning (and stop the scheduler if it is this scanner's own)."""
        self.scheduler.remove_job(self._job_id)
        if self._owns_scheduler:
            self.scheduler.shutdown()
