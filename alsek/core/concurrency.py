"""Tour import path for the distributed lock."""

from alsek.domain.services.lock import Lock

__all__ = ["Lock"]
