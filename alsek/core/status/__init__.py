"""Tour import path for status tracking (``StatusTrackerIntegryScanner``: the tour's spelling),
with Alsek 1.3.2's names."""

from alsek.app.status_scanner import StatusTrackerIntegrityScanner
from alsek.app.status_scanner import (
    StatusTrackerIntegrityScanner as StatusTrackerIntegryScanner,
)
from alsek.domain.model.status import (
    TERMINAL_STATUSES,
    TERMINAL_TASK_STATUSES,
    StatusUpdate,
    TaskStatus,
)
from alsek.domain.services.status_tracker import StatusTracker

__all__ = [
    "TERMINAL_STATUSES",
    "TERMINAL_TASK_STATUSES",
    "StatusTracker",
    "StatusTrackerIntegrityScanner",
    "StatusTrackerIntegryScanner",
    "StatusUpdate",
    "TaskStatus",
]
