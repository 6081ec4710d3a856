"""Tour import path for result storage."""

from alsek.domain.services.result_store import ResultStore

__all__ = ["ResultStore"]
