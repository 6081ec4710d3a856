"""Import path for alsek's errors (re-exports only)."""

from alsek.domain.model.errors import (
    AlsekError,
    BackendConnectionError,
    BackendError,
    CorruptMessageError,
    LockError,
    MessageAlreadyExistsError,
    MessageDoesNotExistError,
    ResultNotFoundError,
    RevokedError,
    SerializationError,
    TaskNameCollisionError,
    TerminationError,
    UnknownTaskError,
    ValidationError,
)

__all__ = [
    "AlsekError",
    "BackendConnectionError",
    "BackendError",
    "CorruptMessageError",
    "LockError",
    "MessageAlreadyExistsError",
    "MessageDoesNotExistError",
    "ResultNotFoundError",
    "RevokedError",
    "SerializationError",
    "TaskNameCollisionError",
    "TerminationError",
    "UnknownTaskError",
    "ValidationError",
]
