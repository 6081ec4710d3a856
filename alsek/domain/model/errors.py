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


class NoTasksFoundError(ValidationError):
    """Raised when a worker pool is left with no task to run (none given, or none of its
    mechanism)."""


class MultipleBrokersError(ValidationError):
    """Raised when the tasks of one worker pool use brokers on different backends."""


class SchedulingError(ValidationError):
    """Raised when a triggered task cannot be scheduled (e.g. its function takes parameters)."""


class LockAlreadyAcquiredError(LockError):
    """Raised by ``Lock.acquire(if_already_acquired="raise_error")`` when the lock is held by
    its own owner already."""


class LockNotAcquiredError(LockError):
    """Raised by ``Lock.release(raise_if_not_acquired=True)`` when the lock is not held by its
    owner."""


#: Alsek 1.3.2's spelling of :class:`MessageDoesNotExistError`.
MessageDoesNotExistsError = MessageDoesNotExistError


class WaitTimeoutError(AlsekError, TimeoutError):
    """Raised by ``StatusTracker.wait_for`` when the status was not reached in time."""


class ResultTimeoutError(ResultNotFoundError, TimeoutError):
    """Raised by ``ResultStore.get`` when no result arrived within the timeout: both a
    ``KeyError`` (as ours) and a ``TimeoutError`` (as Alsek 1.3.2's)."""


class TaskFailedError(AlsekError):
    """Raised by ``ResultStore.get`` (and ``ResultPool``) when the message failed for good: it
    will never have a result. It carries what the task raised.

    Attributes:
        uuid: the uuid of the message that failed.
        exception_name: the class name of the exception the task raised (e.g. ``"ValueError"``).
        exception_text: its text (``str(exception)``).
        traceback: its formatted traceback, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        uuid: str = "",
        exception_name: str = "",
        exception_text: str = "",
        traceback: str | None = None,
    ) -> None:
        super().__init__(message)
        self.uuid = uuid
        self.exception_name = exception_name
        self.exception_text = exception_text
        self.traceback = traceback


class TaskRevokedError(TaskFailedError):
    """Raised by ``ResultStore.get`` (and ``ResultPool``) when the message was revoked: it will
    never have a result (a ``TaskFailedError`` whose ``exception_name`` is ``"RevokedError"``)."""
