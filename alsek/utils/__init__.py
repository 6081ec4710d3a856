"""Alsek 1.3.2's ``alsek.utils`` import paths that user code may use (re-exports only)."""
