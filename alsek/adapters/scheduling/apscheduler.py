"""APScheduler 3.x as the scheduler adapter."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from alsek.domain.model.errors import ValidationError

log = logging.getLogger("alsek.scheduling")


class ApschedulerScheduler:
    """Runs jobs on apscheduler triggers in a daemon background thread, started on first use."""

    def __init__(self) -> None:
        self._scheduler: BackgroundScheduler | None = None
        self._lock = threading.Lock()

    def _running(self) -> BackgroundScheduler:
        with self._lock:
            if self._scheduler is None:
                self._scheduler = BackgroundScheduler(daemon=True, timezone="UTC")
                self._scheduler.start()
            return self._scheduler

    def validate_trigger(self, trigger: Any) -> None:
        """Raise ``ValidationError`` unless ``trigger`` is an apscheduler 3 trigger."""
        if not isinstance(trigger, BaseTrigger):
            raise ValidationError(
                f"trigger must be an apscheduler trigger (CronTrigger, DateTrigger, "
                f"IntervalTrigger), got {type(trigger).__name__}"
            )

    def add_job(self, job_id: str, function: Callable[[], None], trigger: Any) -> None:
        """Schedule ``function`` on ``trigger`` under ``job_id``, replacing an older job."""
        self._running().add_job(
            function, trigger=trigger, id=job_id, replace_existing=True,
            max_instances=1, coalesce=True, misfire_grace_time=None,
        )  # fmt: skip

    def pause_job(self, job_id: str) -> None:
        """Stop firing ``job_id`` until resumed."""
        self._running().pause_job(job_id)

    def resume_job(self, job_id: str) -> None:
        """Fire ``job_id`` again."""
        self._running().resume_job(job_id)

    def remove_job(self, job_id: str) -> None:
        """Forget ``job_id`` (no error when it is not scheduled)."""
        try:
            self._running().remove_job(job_id)
        except JobLookupError:
            log.debug("No job %s to remove.", job_id)

    def has_job(self, job_id: str) -> bool:
        """Whether ``job_id`` is scheduled."""
        return self._scheduler is not None and self._scheduler.get_job(job_id) is not None

    def shutdown(self) -> None:
        """Stop the background thread (jobs stop firing)."""
        with self._lock:
            if self._scheduler is not None and self._scheduler.running:
                self._scheduler.shutdown(wait=False)
            self._scheduler = None
