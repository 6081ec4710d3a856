"""Failure records: what a result store keeps for a message that failed for good (or was
revoked), so that whoever waits for its result learns at once that none will come.

A failure record lives under ``failures:<uuid>`` (beside the message's ``results:<uuid>``),
written in the same atomic step that fails the message, and holds::

    {"exception": {"name", "text", "traceback"}, "timestamp", "uuid", "progenitor_uuid"}

The rule that decides what a reader sees (:func:`first_failure`): a stored result always wins
over a failure record; otherwise the first member of the chain with a failure record failed the
chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alsek.domain.model.errors import RevokedError, TaskFailedError, TaskRevokedError
from alsek.domain.model.message import Message

#: The class name that marks a revoked message's exception details.
REVOKED = RevokedError.__name__


def failure_name(uuid: str) -> str:
    """The storage name of the failure record of message ``uuid``."""
    return f"failures:{uuid}"


def failure_record(message: Message, now_ms: int) -> dict[str, Any]:
    """The failure record of ``message`` (its ``exception_details`` set) failed at ``now_ms``."""
    details = message.exception_details or {}
    return {
        "exception": {
            "name": str(details.get("name") or "Exception"),
            "text": str(details.get("text") or ""),
            "traceback": details.get("traceback"),
        },
        "timestamp": now_ms,
        "uuid": str(message.uuid),
        "progenitor_uuid": message.progenitor_uuid,
    }


def is_failure(value: Any) -> bool:
    """Whether ``value`` is a stored failure record."""
    return isinstance(value, dict) and isinstance(value.get("exception"), dict) and "uuid" in value


def first_failure(has_result: Sequence[bool], failures: Sequence[Any]) -> dict[str, Any] | None:
    """The failure record that ends a chain of messages, or None.

    Args:
        has_result: per member of the chain (in chain order), whether its result is stored.
        failures: per member, what is stored under its failure name (anything).

    Returns:
        The failure record of the first member that has one and no result: a result wins
        over a failure record (it was written by a later, successful run).
    """
    for stored, failure in zip(has_result, failures, strict=True):
        if not stored and is_failure(failure):
            return dict(failure)
    return None


def failure_error(record: dict[str, Any]) -> TaskFailedError:
    """The error :meth:`ResultStore.get` raises for the failure ``record``:
    :class:`TaskRevokedError` for a revoked message, else :class:`TaskFailedError`."""
    exception = record["exception"]
    name, text, uuid = exception["name"], exception["text"], str(record["uuid"])
    if name == REVOKED:
        return TaskRevokedError(
            f"Message {uuid} was revoked: it has no result",
            uuid=uuid, exception_name=name, exception_text=text,
            traceback=exception.get("traceback"),
        )  # fmt: skip
    return TaskFailedError(
        f"Message {uuid} failed with {name}: {text}",
        uuid=uuid, exception_name=name, exception_text=text,
        traceback=exception.get("traceback"),
    )  # fmt: skip
