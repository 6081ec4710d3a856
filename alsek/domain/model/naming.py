"""Backend-neutral storage names: the shapes the tour shows (``queues:<queue>:...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alsek.domain.model.errors import ValidationError

if TYPE_CHECKING:
    from alsek.domain.model.message import Message

_FORBIDDEN_IN_QUEUE = set("{}:*?[]\\ \t\n|")
_FORBIDDEN_IN_TASK = set("{}*?[]\\\n|")
_FORBIDDEN_IN_UUID = frozenset(":|*?[]\\{} \t\n\r")
#: The longest message uuid accepted (characters).
UUID_MAX = 200


def validate_queue_name(queue: object) -> str:
    """Return ``queue`` if it is a usable queue name.

    Raises:
        ValidationError: if it is empty, not a string, or holds ``{}:*?[]\\|`` or white space.
    """
    if not isinstance(queue, str) or not queue:
        raise ValidationError(f"queue must be a non-empty string, got {queue!r}")
    if queue.isprintable() and _FORBIDDEN_IN_QUEUE.isdisjoint(queue):
        return queue  # fast path: every white space but " " (forbidden) is unprintable
    bad = _FORBIDDEN_IN_QUEUE.intersection(queue) | {c for c in queue if c.isspace()}
    if bad:
        raise ValidationError(f"queue name {queue!r} may not contain {''.join(sorted(bad))!r}")
    return queue


def validate_task_name(name: object) -> str:
    """Return ``name`` if it is a usable task name.

    Raises:
        ValidationError: if it is empty, not a string, or holds ``{}*?[]\\|`` or a newline.
    """
    if not isinstance(name, str) or not name:
        raise ValidationError(f"task name must be a non-empty string, got {name!r}")
    if not _FORBIDDEN_IN_TASK.isdisjoint(name):
        bad = "".join(sorted(_FORBIDDEN_IN_TASK.intersection(name)))
        raise ValidationError(f"task name {name!r} may not contain {bad!r}")
    return name


def validate_uuid(uuid: object) -> str:
    """Return ``uuid`` if it can name a message: two messages must never share a body key.

    Raises:
        ValidationError: if it is not a non-empty string of at most :data:`UUID_MAX`
            characters, or holds ``:|*?[]\\{}`` or white space.
    """
    if not isinstance(uuid, str) or not uuid or len(uuid) > UUID_MAX:
        raise ValidationError(
            f"uuid must be a non-empty string of at most {UUID_MAX} characters, got {uuid!r}"
        )
    if not _FORBIDDEN_IN_UUID.isdisjoint(uuid):
        bad = "".join(sorted(_FORBIDDEN_IN_UUID.intersection(uuid)))
        raise ValidationError(f"uuid {uuid!r} may not contain {bad!r}")
    return uuid


def queue_prefix(queue: str) -> str:
    """The name prefix under which a queue's message bodies live (add ``:`` to match exactly)."""
    return f"queues:{queue}"


def message_name(message: Message) -> str:
    """The storage name of a message body: ``queues:<q>:tasks:<task>:messages:<uuid>``."""
    return f"queues:{message.queue}:tasks:{message.task_name}:messages:{message.uuid}"


def dlq_name(message: Message) -> str:
    """The storage name of a message in the dead letter queue."""
    return f"dtq:{message_name(message)}"


def dlq_prefix(queue: str | None = None) -> str:
    """The name prefix of the dead letter queue, of one queue or of all (add ``:`` to match
    exactly one queue)."""
    return f"dtq:queues:{queue}" if queue else "dtq:queues"


#: Channel on which revocations are announced (payload: ``{"uuid": ..., "interrupt": bool}``).
REVOCATION_CHANNEL = "revocations"


def revoked_name(uuid: str) -> str:
    """The storage name of the marker that says message ``uuid`` was revoked."""
    return f"revoked:{uuid}"
