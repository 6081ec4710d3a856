"""Alsek 1.3.2's import path of the status tracker."""

from alsek.domain.services.status_tracker import StatusTracker

__all__ = ["StatusTracker"]
