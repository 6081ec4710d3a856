"""Alsek 1.3.2's ``alsek.defaults`` (re-exports only). The default mechanism is ``"process"``, as
the tour says."""

from alsek.domain.model.defaults import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MECHANISM,
    DEFAULT_NAMESPACE,
    DEFAULT_QUEUE,
    DEFAULT_TTL,
)
from alsek.domain.model.defaults import DEFAULT_TASK_TIMEOUT_MS as DEFAULT_TASK_TIMEOUT

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MECHANISM",
    "DEFAULT_NAMESPACE",
    "DEFAULT_QUEUE",
    "DEFAULT_TASK_TIMEOUT",
    "DEFAULT_TTL",
]
