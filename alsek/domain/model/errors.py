"""The one error tree of alsek: everything raised on purpose derives from ``AlsekError``."""

from __future__ import annotations


class AlsekError(Exception):
    """Raised for any error that alsek raises on purpose."""


class ValidationError(AlsekError, ValueError):
    """Raised when an argument or option is invalid; the message names the problem."""


class SerializationError(AlsekError, ValueError):
    """Raised when a value cannot be encoded or decoded by the serializer."""


class CorruptMessageError(AlsekError):
    """Raised when a stored message body cannot be decoded.

    Attributes:
        name: the storage name (key) of the unreadable body.
    """

    def __init__(self, message: str, *, name: str = "") -> None:
        super().__init__(message)
        self.name = name


class BackendError(AlsekError):
    """Raised when the storage backend fails (connection lost, script error, ...)."""


class BackendConnectionError(BackendError, ConnectionError):
    """Raised when the storage backend cannot be reached."""


class QueueDamagedError(BackendError):
    """Raised when a queue's stored keys hold values of the wrong type (written by hand, or by
    another program); the message names the queue and the problem."""


class LeaseLostError(AlsekError):
    """Raised when a message is acknowledged, retried or failed by a consumer whose lease on it
    lapsed while another consumer took it; nothing was written (the new holder's run decides)."""


class MessageTooLargeError(SerializationError):
    """Raised when an encoded message body is larger than the backend's ``max_message_bytes``."""


class MessageAlreadyExistsError(AlsekError):
    """Raised when a message with the same uuid is submitted twice."""


class MessageDoesNotExistError(AlsekError, KeyError):
    """Raised when an operation needs a message that is not in the backend."""


class TaskNameCollisionError(ValidationError):
    """Raised when two different functions register tasks under one name."""


class UnknownTaskError(AlsekError):
    """Raised when a message names a task that the worker does not know."""


class ResultNotFoundError(AlsekError, KeyError):
    """Raised when a result is not available (missing, or not written before the timeout)."""


class LockError(AlsekError):
    """Raised when a lock cannot be released or is used incorrectly."""


class RevokedError(AlsekError):
    """Raised inside a running task that was revoked."""


class TerminationError(AlsekError):
    """Raised when a worker is asked to stop while work is running."""
