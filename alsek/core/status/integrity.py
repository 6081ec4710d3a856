"""Alsek 1.3.2's import path of the status integrity scanner."""

from alsek.app.status_scanner import StatusTrackerIntegrityScanner

__all__ = ["StatusTrackerIntegrityScanner"]
