"""The scheduler port: run a callable whenever a trigger fires, in the background."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Scheduler(Protocol):
    """Runs jobs on triggers (cron, date, interval) for as long as the process lives."""

    def validate_trigger(self, trigger: Any) -> None:
        """Raise ``ValidationError`` if ``trigger`` is not a trigger this scheduler runs."""
        ...

    def add_job(self, job_id: str, function: Callable[[], None], trigger: Any) -> None:
        """Schedule ``function`` on ``trigger`` under ``job_id`` (replacing a job of that id)."""
        ...

    def pause_job(self, job_id: str) -> None:
        """Stop firing ``job_id`` until resumed."""
        ...

    def resume_job(self, job_id: str) -> None:
        """Fire ``job_id`` again."""
        ...

    def remove_job(self, job_id: str) -> None:
        """Forget ``job_id`` (no error if it is not scheduled)."""
        ...

    def has_job(self, job_id: str) -> bool:
        """Whether ``job_id`` is scheduled."""
        ...

    def shutdown(self) -> None:
        """Stop the scheduler and every job on it."""
        ...
