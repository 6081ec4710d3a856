"""Alsek 1.3.2's import path of the locks."""

from alsek.app.locks import ProcessLock, ThreadLock
from alsek.domain.services.lock import Lock

__all__ = ["Lock", "ProcessLock", "ThreadLock"]
