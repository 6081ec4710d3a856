"""Tour import path for the distributed lock (with Alsek 1.3.2's process and thread locks)."""

from alsek.app.locks import ProcessLock, ThreadLock
from alsek.domain.services.lock import Lock

__all__ = ["Lock", "ProcessLock", "ThreadLock"]
