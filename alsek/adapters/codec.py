"""What every storage adapter checks, encodes and decodes the same way.

Both :class:`~alsek.adapters.redis.RedisBackend` and
:class:`~alsek.adapters.memory.InMemoryBackend` validate arguments here (so a call one refuses,
the other refuses too), decode message bodies here (so a corrupt body is one error everywhere)
and name the dead letter queue here.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
from collections.abc import Iterable
from typing import Any

from alsek.domain.model.errors import CorruptMessageError, MessageTooLargeError, ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import dlq_prefix
from alsek.ports.keyvalue import MISSING
from alsek.ports.serializer import Serializer

#: Prefix of the dead letter queue's names; a corrupt body is kept under this + its own name.
DEAD_LETTER_PREFIX = "dtq:"


_FORBIDDEN_IN_NAMESPACE = frozenset(":*?[]\\{}")


def check_namespace(namespace: object) -> str:
    """Return ``namespace`` if it is a usable key prefix.

    It may not hold ``:`` (namespace ``app`` would then own ``app:tenant2``'s keys, and
    ``clear_namespace()`` wipe them), glob characters (``*?[]\\``, which SCAN patterns would
    read) or braces (which would steal Redis Cluster's hash tag).

    Raises:
        ValidationError: naming the problem.
    """
    if not isinstance(namespace, str) or not namespace:
        raise ValidationError(f"namespace must be a non-empty string, got {namespace!r}")
    bad = _FORBIDDEN_IN_NAMESPACE.intersection(namespace)
    if bad:
        raise ValidationError(f"namespace {namespace!r} may not contain {''.join(sorted(bad))!r}")
    return namespace


class LeaseTokens:
    """Owner tokens of leases, one per claim call: a random prefix of this process (made again
    after a fork) and a counter, so that no two claims anywhere share one. Tokens never hold
    ``|``."""

    def __init__(self) -> None:
        self._pid = 0
        self._prefix = ""
        self._counter = itertools.count(1)

    def next(self) -> str:
        """A token no claim has had."""
        pid = os.getpid()
        if pid != self._pid:
            self._pid, self._prefix = pid, f"{secrets.token_hex(6)}.{pid:x}."
        return f"{self._prefix}{next(self._counter)}"


def check_body_size(raw: bytes | str, limit: int | None, message: Message) -> None:
    """Refuse the encoded body ``raw`` of ``message`` when it is longer than ``limit`` bytes.

    Raises:
        MessageTooLargeError: naming the message and both sizes.
    """
    if limit is not None and len(raw) > limit:
        raise MessageTooLargeError(
            f"{message.summary} is {len(raw):,} bytes encoded, more than max_message_bytes "
            f"({limit:,})"
        )


def check_max_bytes(limit: object) -> int | None:
    """Return ``limit`` if it is None or a positive int (a backend's ``max_message_bytes``).

    Raises:
        ValidationError: otherwise.
    """
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0):
        raise ValidationError(f"max_message_bytes must be None or a positive int, got {limit!r}")
    return limit


def check_ttl(ttl: int | None, what: str = "ttl") -> int | None:
    """Return ``ttl`` if it is None or a non-negative integer of milliseconds.

    Raises:
        ValidationError: otherwise (bools are not integers here), naming ``what``.
    """
    if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0):
        raise ValidationError(f"{what} must be None or a non-negative integer (ms), got {ttl!r}")
    return ttl


def dead_letter_ttl(dlq_ttl: int | None) -> int:
    """How long ``fail`` keeps a dead letter, in ms: 0 (not kept) for None or 0.

    Raises:
        ValidationError: if ``dlq_ttl`` is negative or not an integer.
    """
    return check_ttl(dlq_ttl, "dlq_ttl") or 0


def check_lease(lease_ms: int) -> None:
    """Validate a lease of ``lease_ms`` (a positive integer of milliseconds).

    Raises:
        ValidationError: naming the bad value.
    """
    if not isinstance(lease_ms, int) or isinstance(lease_ms, bool) or lease_ms <= 0:
        raise ValidationError(f"lease_ms must be a positive integer (ms), got {lease_ms!r}")


def check_claim(limit: int, lease_ms: int) -> None:
    """Validate a claim's ``limit`` (an integer >= 0) and ``lease_ms`` (see :func:`check_lease`).

    Raises:
        ValidationError: naming the bad value.
    """
    # Both checks inline: this runs on every claim (the hot path).
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValidationError(f"limit must be a non-negative integer, got {limit!r}")
    if not isinstance(lease_ms, int) or isinstance(lease_ms, bool) or lease_ms <= 0:
        raise ValidationError(f"lease_ms must be a positive integer (ms), got {lease_ms!r}")


def check_channels(channels: tuple[str, ...]) -> None:
    """Validate the channels of a subscription.

    Raises:
        ValidationError: if there is none.
    """
    if not channels:
        raise ValidationError("subscribe() needs at least one channel")


def decode_value(serializer: Serializer, raw: bytes | str | None, name: str, default: Any) -> Any:
    """What ``get(name, default)`` returns when ``raw`` was stored under ``name`` (None: nothing).

    Raises:
        KeyError: if nothing was stored and ``default`` is :data:`MISSING`.
        SerializationError: if ``raw`` cannot be decoded.
    """
    if raw is None:
        if default is MISSING:
            raise KeyError(name)
        return default
    return serializer.reverse(raw)


def decode_message(serializer: Serializer, raw: bytes | str, name: str) -> Message:
    """Decode the stored body ``raw`` found under the short ``name``.

    Raises:
        CorruptMessageError: for any failure (bad bytes, a value that is not a message's data),
            so that callers handle one error: a corrupt body must never crash a consumer.
    """
    try:
        data: Any = serializer.reverse(raw)
        if not isinstance(data, dict):
            raise ValidationError(f"expected a mapping, got {type(data).__name__}")
        return Message.from_data(data)
    except Exception as error:  # noqa: BLE001 - see the docstring
        raise CorruptMessageError(f"cannot decode {name!r}: {error}", name=name) from error


def dead_letter_name(name: str) -> str:
    """Where the dead letter queue keeps the body stored under the short ``name``."""
    return DEAD_LETTER_PREFIX + name


def dead_letter_prefix(queue: str | None) -> str:
    """The short-name prefix of the dead letters of ``queue`` (of every queue when None)."""
    return f"{dlq_prefix(queue)}:"


def decode_dead_letters(
    serializer: Serializer, entries: Iterable[tuple[str, bytes | str]], log: logging.Logger
) -> list[Message]:
    """Decode ``(short name, raw body)`` dead letters; unreadable ones are logged and skipped."""
    letters = []
    for name, raw in entries:
        try:
            letters.append(decode_message(serializer, raw, name))
        except CorruptMessageError as error:
            log.warning("Skipping unreadable dead letter: %s", error)
    return letters
