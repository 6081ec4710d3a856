"""The fields of a message: converters and checks, and how times are shown."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from alsek.domain.model.errors import ValidationError
from alsek.domain.model.exception_details import ExceptionDetails

#: The fields in the order the repr shows them (the tour's).
REPR_ORDER = (
    "task_name", "queue", "args", "kwargs", "priority", "metadata", "exception_details",
    "result_ttl", "uuid", "progenitor_uuid", "retries", "timeout", "created_at", "updated_at",
    "delay", "previous_result", "previous_message_uuid", "callback_message_data",
    "backoff_settings", "mechanism",
)  # fmt: skip
#: Every field, in order: the repr's (the tour's) and ``linked_lock``.
FIELDS = (*REPR_ORDER, "linked_lock")


def to_tuple(value: Any) -> tuple[Any, ...]:
    """``args`` as a tuple (None: empty)."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    raise ValidationError(f"args must be a list or tuple, got {type(value).__name__}")


def to_dict(value: Any) -> dict[str, Any]:
    """``kwargs`` as a dict (None: empty)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise ValidationError(f"kwargs must be a dict, got {type(value).__name__}")


def non_negative_int(name: str, value: Any) -> int:
    """``value`` if it is an integer >= 0 (ms or a count), else ``ValidationError``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"{name} must be a non-negative integer (ms), got {value!r}")
    return value


def details(value: Any) -> dict[str, Any] | None:
    """``exception_details`` as a dict (an ``ExceptionDetails`` is converted)."""
    if isinstance(value, ExceptionDetails):
        return value.as_dict()
    if value is None or isinstance(value, dict):
        return value
    raise ValidationError(
        f"exception_details must be a dict, an ExceptionDetails or None, got {type(value).__name__}"
    )


def linked_lock(value: Any) -> dict[str, Any] | None:
    """``linked_lock`` if it is None or ``{"name", "owner_id"}``, else ``ValidationError``."""
    if value is None:
        return None
    if not (
        isinstance(value, dict)
        and isinstance(value.get("name"), str)
        and isinstance(value.get("owner_id"), str)
    ):
        raise ValidationError(f"linked_lock must be None or {{'name', 'owner_id'}}, got {value!r}")
    return value


def merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` updated with ``new``, nested dicts merged (not replaced) at every depth."""
    result = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def plain_callback(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """Callback data as the serializer returns it: args as a list, nested callbacks alike.

    Raises:
        ValidationError: if ``data`` (or a nested callback) is not a dict or None.
    """
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValidationError(
            f"callback_message_data must be a dict or None, got {type(data).__name__}"
        )
    return {
        **data,
        "args": list(data.get("args") or ()),
        "callback_message_data": plain_callback(data.get("callback_message_data")),
    }


def format_ms(timestamp_ms: int) -> str:
    """A time in ms since the epoch as the repr shows it (UTC)."""
    return str(datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc).replace(tzinfo=None))


def callback_uuids(data: dict[str, Any] | None) -> list[str]:
    """The uuids of a callback chain (``callback_message_data`` nested), outermost first."""
    uuids = []
    while data:
        uuids.append(data["uuid"])
        data = data.get("callback_message_data")
    return uuids
