"""Encoding done before an in-memory operation touches any state, so that a value the serializer
rejects raises before anything is written, just as a Redis script never runs with half its
arguments."""

from __future__ import annotations

from attrs import frozen

from alsek.adapters.codec import check_body_size, check_ttl
from alsek.adapters.memory.table import Raw
from alsek.domain.model.effects import Effects
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name
from alsek.ports.serializer import Serializer


@frozen
class EncodedMessage:
    """A message with its body already encoded.

    Attributes:
        message: the message itself.
        name: the full storage name of its body.
        raw: the encoded body.
        ready_at: when it may run (ms since the epoch), computed up front because a bad backoff
            setting raises here.
    """

    message: Message
    name: str
    raw: Raw
    ready_at: int


@frozen
class EncodedEffects:
    """:class:`Effects` with every value encoded and every name made full.

    Attributes:
        writes: ``(full name, encoded value, ttl in ms or None)``.
        deletes: full names.
        publishes: ``(full channel, encoded value)``.
        submits: messages to submit.
    """

    writes: tuple[tuple[str, Raw, int | None], ...] = ()
    deletes: tuple[str, ...] = ()
    publishes: tuple[tuple[str, Raw], ...] = ()
    submits: tuple[EncodedMessage, ...] = ()


class Encoder:
    """Encodes messages and effects for one namespace and serializer.

    Args:
        namespace: prefix of every stored name.
        serializer: encodes bodies and values.
        max_message_bytes: the longest body a submission may have (None: no limit).
    """

    def __init__(
        self, namespace: str, serializer: Serializer, max_message_bytes: int | None = None
    ) -> None:
        self.prefix = namespace + ":"
        self.serializer = serializer
        self.max_message_bytes = max_message_bytes

    def message(self, message: Message, *, submission: bool = True) -> EncodedMessage:
        """Encode ``message``'s body (and compute its ``ready_at``).

        Raises:
            SerializationError: if the body cannot be encoded (``MessageTooLargeError``: a
                ``submission`` longer than ``max_message_bytes``).
            ValidationError: for bad backoff settings.
        """
        name = self.prefix + message_name(message)
        raw = self.serializer.forward(message.data)
        if submission:
            check_body_size(raw, self.max_message_bytes, message)
        return EncodedMessage(message=message, name=name, raw=raw, ready_at=message.ready_at)

    def effects(self, effects: Effects) -> EncodedEffects:
        """Encode every value of ``effects`` and make every name full.

        Raises:
            SerializationError: if a value cannot be encoded.
            ValidationError: if a write has a bad ttl.
        """
        if not effects:
            return EncodedEffects()
        prefix, forward = self.prefix, self.serializer.forward
        return EncodedEffects(
            writes=tuple(
                (prefix + w.name, forward(w.value), check_ttl(w.ttl_ms, "ttl_ms"))
                for w in effects.writes
            ),
            deletes=tuple(prefix + name for name in effects.deletes),
            publishes=tuple((prefix + p.channel, forward(p.value)) for p in effects.publishes),
            submits=tuple(self.message(message) for message in effects.submits),
        )
