"""Alsek 1.3.2's import path of the status trackers' base (``BaseStatusTracker``: ours has one
tracker, whose methods the base declared)."""

from alsek.domain.services.status_tracker import StatusTracker
from alsek.domain.services.status_tracker import StatusTracker as BaseStatusTracker

__all__ = ["BaseStatusTracker", "StatusTracker"]
