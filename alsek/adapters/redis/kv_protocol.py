"""The key-value operations on Redis, as steps (see :mod:`alsek.adapters.redis.steps`): shared by
the synchronous :class:`~alsek.adapters.redis.keyvalue.RedisKeyValueStore` and the asynchronous
:class:`~alsek.adapters.redis.aio_backend.AsyncRedisBackend`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alsek.adapters.codec import check_ttl, decode_value
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.scripts import Call
from alsek.adapters.redis.steps import ClientCall, Mget, Scan, Script, Steps
from alsek.ports.clock import Clock
from alsek.ports.keyvalue import MISSING
from alsek.ports.serializer import Serializer

#: Keys per UNLINK of ``clear_namespace``.
UNLINK_BATCH = 1000


class KeyValueProtocol:
    """Values with TTLs (SET PX), compare-and-delete and publishing, as steps.

    Args:
        keys: the key layout of the namespace.
        serializer: encodes every value.
        clock: the source of time in ms for the atomic compare-and-delete.
    """

    def __init__(self, keys: KeyLayout, serializer: Serializer, clock: Clock) -> None:
        self.keys = keys
        self.serializer = serializer
        self.clock = clock

    def exists(self, name: str) -> Steps[bool]:
        """Whether ``name`` holds a value."""
        return bool((yield ClientCall("exists", (self.keys.full_name(name),))))

    def set(self, name: str, value: Any, nx: bool, ttl: int | None) -> Steps[None]:
        """Store ``value`` under ``name`` (``ttl=0``: stored and expired at once).

        Raises:
            KeyError: if ``nx`` and ``name`` already exists.
            SerializationError: if ``value`` cannot be encoded (nothing is written).
            ValidationError: if ``ttl`` is negative or not an integer.
        """
        check_ttl(ttl)
        raw, key = self.serializer.forward(value), self.keys.full_name(name)
        if ttl == 0:  # stored and expired at the same instant: nothing to see
            if nx and (yield ClientCall("exists", (key,))):
                raise KeyError(f"{name!r} already exists")
            yield ClientCall("delete", (key,))
            return
        if not (yield ClientCall("set", (key, raw), {"nx": nx, "px": ttl})) and nx:
            raise KeyError(f"{name!r} already exists")

    def get(self, name: str, default: Any) -> Steps[Any]:
        """The value under ``name``, else ``default`` (``KeyError`` when MISSING)."""
        raw = yield ClientCall("get", (self.keys.full_name(name),))
        return decode_value(self.serializer, raw, name, default)

    def get_many(self, names: Sequence[str]) -> Steps[list[Any]]:
        """The values under ``names`` (one MGET), :data:`MISSING` for absent ones."""
        if not names:
            return []
        raws = yield Mget(tuple(self.keys.full_name(name) for name in names))
        return [MISSING if raw is None else self.serializer.reverse(raw) for raw in raws]

    def delete(self, name: str, missing_ok: bool) -> Steps[None]:
        """Delete ``name`` (``KeyError`` when absent and not ``missing_ok``)."""
        if not (yield ClientCall("delete", (self.keys.full_name(name),))) and not missing_ok:
            raise KeyError(name)

    def delete_if_equal(self, name: str, value: Any) -> Steps[bool]:
        """Delete ``name`` if it holds ``value``: one atomic step."""
        raw = self.serializer.forward(value)
        call = Call(self.clock.now_ms()).key(self.keys.full_name(name)).arg(raw)
        return bool((yield Script("delete_if", call)))

    def scan(self, pattern: str | None) -> Steps[list[str]]:
        """Short names starting with ``pattern`` (SCAN, never KEYS); internal indexes hidden."""
        keys = yield Scan(self.keys.pattern(pattern))
        return [self.keys.short_name(k) for k in keys if not k.startswith(self.keys.internal)]

    def clear_namespace(self) -> Steps[int]:
        """Delete every key of the namespace, indexes included (UNLINK in batches); return how
        many keys visible to :meth:`scan` went."""
        keys = yield Scan(self.keys.pattern(None))
        for start in range(0, len(keys), UNLINK_BATCH):
            yield ClientCall("unlink", tuple(keys[start : start + UNLINK_BATCH]))
        return sum(1 for key in keys if not key.startswith(self.keys.internal))

    def publish(self, channel: str, value: Any) -> Steps[None]:
        """Publish ``value`` on ``channel`` (namespaced)."""
        raw = self.serializer.forward(value)
        yield ClientCall("publish", (self.keys.full_name(channel), raw))
