"""Encoding done before an in-memory operation touches any state, so that a value the serializer
rejects raises before anything is written, just as a Redis script never runs with half its
arguments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attrs import frozen

from alsek.adapters.memory.keyvalue import Raw
from alsek.domain.model.effects import Effects
from alsek.domain.model.errors import CorruptMessageError, ValidationError
from alsek.domain.model.message import Message
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


def check_ttl(ttl: int | None, what: str = "ttl") -> int | None:
    """Return ``ttl`` if it is None or a non-negative integer of milliseconds.

    Raises:
        ValidationError: otherwise.
    """
    if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0):
        raise ValidationError(f"{what} must be None or a non-negative integer (ms), got {ttl!r}")
    return ttl


def encode_effects(
    effects: Effects,
    serializer: Serializer,
    full_name: Callable[[str], str],
    encode_message: Callable[[Message], EncodedMessage],
) -> EncodedEffects:
    """Encode every value of ``effects``.

    Raises:
        SerializationError: if a value cannot be encoded.
        ValidationError: if a write has a bad ttl.
    """
    if not effects:
        return EncodedEffects()
    return EncodedEffects(
        writes=tuple(
            (full_name(w.name), serializer.forward(w.value), check_ttl(w.ttl_ms, "ttl_ms"))
            for w in effects.writes
        ),
        deletes=tuple(full_name(name) for name in effects.deletes),
        publishes=tuple(
            (full_name(p.channel), serializer.forward(p.value)) for p in effects.publishes
        ),
        submits=tuple(encode_message(message) for message in effects.submits),
    )


def decode_message(serializer: Serializer, raw: Raw, name: str) -> Message:
    """Decode the stored body ``raw`` found under ``name``.

    Raises:
        CorruptMessageError: for any failure (bad bytes, a value that is not a message's data),
            so that callers handle one error: a corrupt body must never crash a consumer.
    """
    try:
        data: Any = serializer.reverse(raw)
        if not isinstance(data, dict):
            raise ValidationError(f"expected a mapping, got {type(data).__name__}")
        return Message.from_data(data)
    except Exception as error:  # noqa: BLE001 - see docstring
        raise CorruptMessageError(f"cannot decode {name!r}: {error}", name=name) from error
