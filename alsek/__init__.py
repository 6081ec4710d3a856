"""alsek: a distributed task queue for Python on Redis.

Import what you need from here (``from alsek import Broker, task``) or from the tour's paths
(``alsek.core.*``, ``alsek.storage.*``, ``alsek.tools``).
"""

from alsek.app.status_scanner import StatusTrackerIntegrityScanner
from alsek.app.task_decorator import task
from alsek.domain.model.message import Message
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.broker import Broker
from alsek.domain.services.lock import Lock
from alsek.domain.services.result_async import AsyncResultStore
from alsek.domain.services.result_pool import ResultPool
from alsek.domain.services.result_store import ResultStore
from alsek.domain.services.status_async import AsyncStatusTracker
from alsek.domain.services.status_tracker import StatusTracker

__version__ = "0.1.0"

__all__ = [
    "AsyncResultStore",
    "AsyncStatusTracker",
    "Broker",
    "Lock",
    "Message",
    "ResultPool",
    "ResultStore",
    "StatusTracker",
    "StatusTrackerIntegrityScanner",
    "TaskStatus",
    "task",
]
