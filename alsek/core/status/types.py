"""Alsek 1.3.2's import path of the status values."""

from alsek.domain.model.status import (
    TERMINAL_STATUSES,
    TERMINAL_TASK_STATUSES,
    StatusUpdate,
    TaskStatus,
)

__all__ = ["TERMINAL_STATUSES", "TERMINAL_TASK_STATUSES", "StatusUpdate", "TaskStatus"]
