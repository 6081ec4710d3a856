"""Key-value, pub/sub, naming, description and client half of :class:`RedisBackend`."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import redis

from alsek.adapters.clock import SystemClock
from alsek.adapters.redis import client as client_module
from alsek.adapters.redis.calls import CallBuilder, check_ttl
from alsek.adapters.redis.client import (
    LazyClient,
    bytes_client,
    check_url,
    class_path,
    client_from_description,
    client_from_url,
    describe_client,
    fork_safe,
    import_path,
    translated,
)
from alsek.adapters.redis.connections import ThreadConnections
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.scripts import Call, load_all
from alsek.adapters.redis.subscription import RedisSubscription
from alsek.adapters.serialization.json import JsonSerializer
from alsek.domain.model.errors import ValidationError
from alsek.ports.backend import DEFAULT_NAMESPACE, MISSING, Backend, Subscription
from alsek.ports.clock import Clock
from alsek.ports.serializer import Serializer

Connection = str | redis.Redis | LazyClient | None
SCAN_COUNT = 1000


class RedisKeySpace(Backend):
    """The key-value, pub/sub and connection methods of :class:`RedisBackend` (queue methods
    stay abstract here).

    Takes the arguments documented on :class:`RedisBackend`.
    """

    def __init__(
        self,
        connection: Connection = None,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        serializer: Serializer | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not (connection is None or isinstance(connection, (str, redis.Redis, LazyClient))):
            raise ValidationError(
                "connection must be None, a URL, a redis.Redis or a LazyClient, "
                f"got {type(connection).__name__}"
            )
        if isinstance(connection, str):
            check_url(connection)
        self._keys = KeyLayout(namespace)
        self._serializer: Serializer = serializer if serializer is not None else JsonSerializer()
        self.clock = clock if clock is not None else SystemClock()
        self._connection = connection
        self._client: redis.Redis | None = None
        self._resp2_client: redis.Redis | None = None
        self._lock = threading.Lock()
        self._scripts = load_all()
        self._script_connections = ThreadConnections()
        self._subscriptions: weakref.WeakSet[RedisSubscription] = weakref.WeakSet()
        self._rebuild()

    # Both may be assigned after construction (the tour's namespaces; a copy with another
    # namespace shares the client and keeps its own keys).
    @property  # type: ignore[override]
    def namespace(self) -> str:
        """The prefix of every key; assigning it moves the backend to another namespace."""
        return self._keys.namespace

    @namespace.setter
    def namespace(self, value: str) -> None:
        self._keys = KeyLayout(value)
        self._rebuild()

    @property  # type: ignore[override]
    def serializer(self) -> Serializer:
        """Encodes every value stored or published."""
        return self._serializer

    @serializer.setter
    def serializer(self, value: Serializer) -> None:
        self._serializer = value
        self._rebuild()

    def _rebuild(self) -> None:
        """Rebuild what depends on the namespace or the serializer."""
        self._calls = CallBuilder(self._keys, self._serializer)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self.namespace!r})"

    # -- the client ------------------------------------------------------------------------------

    @property
    def client(self) -> redis.Redis:
        """The redis-py client, made on first use (no connection is opened until a command)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> redis.Redis:
        if isinstance(self._connection, (LazyClient, redis.Redis)):
            return fork_safe(bytes_client(self._connection))
        return fork_safe(client_from_url(self._connection))

    def _pubsub_client(self) -> redis.Redis:
        """The client subscriptions use: the backend's own, or for a RESP3 client a RESP2 twin
        (redis-py 5's pure-Python RESP3 parser blocks in ``get_message`` after a push reply)."""
        client = self.client
        if str(client.connection_pool.connection_kwargs.get("protocol")) != "3":
            return client
        if self._resp2_client is None:
            description = describe_client(client)
            description["kwargs"]["protocol"] = 2
            self._resp2_client = fork_safe(client_from_description(description))
        return self._resp2_client

    def _now(self) -> int:
        return self.clock.now_ms()

    def _run(self, script: str, call: Call) -> Any:
        with translated():
            return self._scripts.run(self._script_connections.get(self.client), script, call)

    def _run_after(self, first: tuple[Any, ...], script: str, call: Call) -> tuple[Any, Any]:
        with translated():
            connection = self._script_connections.get(self.client)
            return self._scripts.run_after(connection, first, script, call)

    # -- description (pickling) --------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """A plain, picklable description a child process rebuilds this backend from.

        The connection is the URL given (or None), else the settings of the client (a
        :class:`LazyClient`'s factory is called for them: that builds a client, it connects
        nothing). Passwords are included. Credential providers and custom objects are not.
        """
        if self._connection is None or isinstance(self._connection, str):
            # The URL actually used, so that a child reaches the same server as its parent.
            connection: dict[str, Any] = {"url": self._connection or client_module.DEFAULT_URL}
        else:
            connection = describe_client(self.client)
        return {
            "connection": connection,
            "namespace": self.namespace,
            "serializer": class_path(self.serializer),
            "clock": class_path(self.clock),
        }

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> Any:
        """Build a backend from :meth:`describe`'s output (serializer and clock are made with
        no arguments)."""
        spec = description["connection"]
        connection = spec["url"] if "url" in spec else client_from_description(spec)
        return cls(
            connection,
            namespace=description["namespace"],
            serializer=import_path(description["serializer"])(),
            clock=import_path(description["clock"])(),
        )

    def __copy__(self) -> Any:
        # A shallow copy shares the client and the clock (pickling builds new ones).
        self.client  # noqa: B018 - made now (no connection) so that both share it
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin._lock = threading.Lock()
        twin._subscriptions = weakref.WeakSet()
        twin._script_connections = ThreadConnections()
        twin._rebuild()
        return twin

    def __reduce__(self) -> Any:
        return (self.from_description, (self.describe(),))

    # -- names -------------------------------------------------------------------------------

    def full_name(self, name: str) -> str:
        """The stored key of ``name``: namespaced, with the queue as the cluster hash tag."""
        return self._keys.full_name(name)

    def short_name(self, name: str) -> str:
        """The inverse of :meth:`full_name`."""
        return self._keys.short_name(name)

    # -- key-value ---------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        """Whether ``name`` holds a value."""
        with translated():
            return bool(self.client.exists(self.full_name(name)))

    def set(self, name: str, value: Any, nx: bool = False, ttl: int | None = None) -> None:
        """Store ``value`` under ``name``; see :meth:`Backend.set` (``ttl=0`` expires at once).

        Raises:
            KeyError: if ``nx`` and ``name`` already exists.
            SerializationError: if ``value`` cannot be encoded (nothing is written).
            ValidationError: if ``ttl`` is negative or not an integer.
        """
        check_ttl(ttl)
        raw, key = self.serializer.forward(value), self.full_name(name)
        with translated():
            if ttl == 0:  # stored and expired at the same instant: nothing to see
                if nx and self.client.exists(key):
                    raise KeyError(f"{name!r} already exists")
                self.client.delete(key)
                return
            if not self.client.set(key, raw, nx=nx, px=ttl) and nx:
                raise KeyError(f"{name!r} already exists")

    def get(self, name: str, default: Any = MISSING) -> Any:
        """The value under ``name``, else ``default``; see :meth:`Backend.get`."""
        with translated():
            raw = self.client.get(self.full_name(name))
        if raw is None:
            if default is MISSING:
                raise KeyError(name)
            return default
        return self.serializer.reverse(raw)

    def get_many(self, names: Sequence[str]) -> list[Any]:
        """The values under ``names`` (MGET, one round trip), :data:`MISSING` for absent ones."""
        if not names:
            return []
        with translated():
            raws = self.client.mget([self.full_name(name) for name in names])
        return [MISSING if raw is None else self.serializer.reverse(raw) for raw in raws]

    def delete(self, name: str, missing_ok: bool = False) -> None:
        """Delete ``name``; see :meth:`Backend.delete`."""
        with translated():
            deleted = self.client.delete(self.full_name(name))
        if not deleted and not missing_ok:
            raise KeyError(name)

    def scan(self, pattern: str | None = None) -> Iterator[str]:
        """Short names starting with ``pattern`` (SCAN, never KEYS); internal indexes hidden.

        ``scan("queues:<q>")`` yields exactly the keys of queue ``<q>``.
        """
        for key in self._scan_keys(self._keys.pattern(pattern)):
            if not key.startswith(self._keys.internal):
                yield self.short_name(key)

    def _scan_keys(self, match: str) -> Iterator[str]:
        seen: set[str] = set()  # SCAN may return a key twice while the table is rehashed
        with translated():
            for raw in self.client.scan_iter(match=match, count=SCAN_COUNT):
                key = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
                if key not in seen:
                    seen.add(key)
                    yield key

    def clear_namespace(self, raise_on_error: bool = True) -> int:
        """Delete every key of the namespace, indexes included (UNLINK in batches); return how
        many keys visible to :meth:`scan` went."""
        keys = list(self._scan_keys(self._keys.pattern(None)))
        with translated():
            for start in range(0, len(keys), SCAN_COUNT):
                self.client.unlink(*keys[start : start + SCAN_COUNT])
        return sum(1 for key in keys if not key.startswith(self._keys.internal))

    # -- pub/sub -----------------------------------------------------------------------------

    def publish(self, channel: str, value: Any) -> None:
        """Publish ``value`` on ``channel`` (namespaced).

        Raises:
            SerializationError: if ``value`` cannot be encoded.
        """
        raw = self.serializer.forward(value)
        with translated():
            self.client.publish(self.full_name(channel), raw)

    def subscribe(self, *channels: str) -> Subscription:
        """Listen on ``channels`` over a dedicated connection; see :meth:`Backend.subscribe`.

        Raises:
            ValidationError: if no channel is given.
        """
        if not channels:
            raise ValidationError("subscribe() needs at least one channel")
        names = [self.full_name(channel) for channel in channels]
        subscription = RedisSubscription(self._pubsub_client(), names, self.serializer)
        self._subscriptions.add(subscription)
        return subscription
