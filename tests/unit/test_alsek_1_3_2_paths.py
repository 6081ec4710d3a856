"""Every public import of Alsek 1.3.2 that alsek offers resolves (docs/migration.md lists them)."""

from __future__ import annotations

import importlib

import pytest

NAMES = {
    "alsek": ["Broker", "Lock", "Message", "StatusTracker", "task", "__version__"],
    "alsek.core.message": ["Message"],
    "alsek.core.broker": ["Broker"],
    "alsek.core.task": ["task", "Task", "TriggerTask"],
    "alsek.core.backoff": [
        "Backoff", "ConstantBackoff", "LinearBackoff", "ExponentialBackoff", "settings2backoff",
        "BackoffSettingsType",
    ],
    "alsek.core.consumer": ["Consumer"],
    "alsek.core.status": ["StatusTracker", "TaskStatus", "StatusUpdate", "TERMINAL_TASK_STATUSES"],
    "alsek.core.status.standard": ["StatusTracker"],
    "alsek.core.status.types": ["TaskStatus", "StatusUpdate", "TERMINAL_TASK_STATUSES"],
    "alsek.core.status.abstract": ["BaseStatusTracker"],
    "alsek.core.status.integrity": ["StatusTrackerIntegrityScanner"],
    "alsek.core.concurrency": ["Lock", "ProcessLock", "ThreadLock"],
    "alsek.core.concurrency.lock": ["Lock", "ProcessLock", "ThreadLock"],
    "alsek.core.worker.thread": ["ThreadWorkerPool"],
    "alsek.core.worker.process": ["ProcessWorkerPool"],
    "alsek.storage.backends": ["Backend", "LazyClient"],
    "alsek.storage.backends.abstract": ["Backend", "BaseBackend", "LazyClient"],
    "alsek.storage.backends.lazy": ["LazyClient"],
    "alsek.storage.backends.redis": ["RedisBackend"],
    "alsek.storage.backends.redis.standard": ["RedisBackend"],
    "alsek.storage.result": ["ResultStore"],
    "alsek.storage.serialization": ["Serializer", "JsonSerializer", "BinarySerializer"],
    "alsek.tools": ["ResultPool"],
    "alsek.tools.iteration": ["ResultPool"],
    "alsek.defaults": [
        "DEFAULT_QUEUE", "DEFAULT_NAMESPACE", "DEFAULT_MAX_RETRIES", "DEFAULT_TASK_TIMEOUT",
        "DEFAULT_MECHANISM", "DEFAULT_TTL",
    ],
    "alsek.types": ["Empty", "SUPPORTED_MECHANISMS", "SupportedMechanismType"],
    "alsek.utils.parsing": ["ExceptionDetails", "parse_exception"],
    "alsek.exceptions": [
        "AlsekError", "MessageAlreadyExistsError", "MessageDoesNotExistsError",
        "MultipleBrokersError", "NoTasksFoundError", "TaskNameCollisionError", "TerminationError",
        "ValidationError", "SchedulingError", "LockAlreadyAcquiredError", "LockNotAcquiredError",
        "RevokedError",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(NAMES))
def test_the_module_and_its_names_exist(module: str) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in NAMES[module] if not hasattr(imported, name)]
    assert missing == []


def test_the_1_3_2_exceptions_are_alsek_errors() -> None:
    from alsek import exceptions

    for name in NAMES["alsek.exceptions"]:
        assert issubclass(getattr(exceptions, name), exceptions.AlsekError), name


def test_the_defaults_follow_the_tour() -> None:
    from alsek import defaults

    assert defaults.DEFAULT_MECHANISM == "process"  # the tour: "the default mechanism is 'process'"
    assert defaults.DEFAULT_TASK_TIMEOUT == 3_600_000
