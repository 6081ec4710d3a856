"""Tour import path for status tracking (``StatusTrackerIntegryScanner``: the tour's spelling)."""

from alsek.app.status_scanner import StatusTrackerIntegrityScanner
from alsek.app.status_scanner import (
    StatusTrackerIntegrityScanner as StatusTrackerIntegryScanner,
)
from alsek.domain.model.status import TERMINAL_STATUSES, TaskStatus
from alsek.domain.services.status_tracker import StatusTracker, StatusUpdate

__all__ = [
    "TERMINAL_STATUSES",
    "StatusTracker",
    "StatusTrackerIntegrityScanner",
    "StatusTrackerIntegryScanner",
    "StatusUpdate",
    "TaskStatus",
]
