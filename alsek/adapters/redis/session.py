"""The connection side of a :class:`RedisBackend`, shared by its two components: the lazy
client, the Lua scripts and their per-thread connections, SCAN, and pub/sub clients."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import Any

import redis

from alsek.adapters.redis import client as client_module
from alsek.adapters.redis.client import (
    LazyClient,
    bytes_client,
    check_url,
    client_from_description,
    client_from_url,
    describe_client,
    fork_safe,
    translated,
)
from alsek.adapters.redis.connections import ThreadConnections
from alsek.adapters.redis.scripts import Call, load_all
from alsek.adapters.redis.subscription import RedisSubscription
from alsek.domain.model.errors import ValidationError

Connection = str | redis.Redis | LazyClient | None

#: Keys asked for per SCAN step, and per MGET/UNLINK batch of admin calls.
SCAN_COUNT = 1000


class RedisSession:
    """One backend's way to Redis. Nothing connects at construction.

    Args:
        connection: None (localhost:6379), a ``redis://``/``rediss://``/``unix://`` URL, a
            ``redis.Redis`` or a :class:`LazyClient`.

    Raises:
        ValidationError: for a connection of another type or a malformed URL.
    """

    def __init__(self, connection: Connection = None) -> None:
        if not (connection is None or isinstance(connection, (str, redis.Redis, LazyClient))):
            raise ValidationError(
                "connection must be None, a URL, a redis.Redis or a LazyClient, "
                f"got {type(connection).__name__}"
            )
        if isinstance(connection, str):
            check_url(connection)
        self.connection = connection
        self._client: redis.Redis | None = None
        self._resp2_client: redis.Redis | None = None
        self._lock = threading.Lock()
        self.scripts = load_all()
        self.script_connections = ThreadConnections()
        self.subscriptions: weakref.WeakSet[RedisSubscription] = weakref.WeakSet()

    def twin(self) -> RedisSession:
        """A session sharing this one's client and scripts, with its own script connections
        and subscriptions (for a shallow copy of the backend)."""
        self.client  # noqa: B018 - made now (no connection) so that both share it
        twin = object.__new__(RedisSession)
        twin.__dict__.update(self.__dict__)
        twin._lock = threading.Lock()
        twin.subscriptions = weakref.WeakSet()
        twin.script_connections = ThreadConnections()
        return twin

    @property
    def client(self) -> redis.Redis:
        """The redis-py client, made on first use (no connection is opened until a command)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> redis.Redis:
        if isinstance(self.connection, (LazyClient, redis.Redis)):
            return fork_safe(bytes_client(self.connection))
        return fork_safe(client_from_url(self.connection))

    def pubsub_client(self) -> redis.Redis:
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

    def describe_connection(self) -> dict[str, Any]:
        """The connection as plain values: ``{"url": ...}`` (the URL given, else the default
        one in use) or the client's settings (see :meth:`RedisBackend.describe`)."""
        if self.connection is None or isinstance(self.connection, str):
            # The URL actually used, so that a child reaches the same server as its parent.
            return {"url": self.connection or client_module.DEFAULT_URL}
        return describe_client(self.client)

    # -- commands ----------------------------------------------------------------------------

    def run(self, script: str, call: Call) -> Any:
        """Run ``script`` with ``call`` on this thread's script connection (one round trip).

        Raises:
            BackendError: translated from redis-py (``BackendConnectionError`` when down).
        """
        with translated():
            return self.scripts.run(self.script_connections.get(self.client), script, call)

    def run_after(self, first: tuple[Any, ...], script: str, call: Call) -> tuple[Any, Any]:
        """Send the command ``first`` and ``script`` in one write; return both replies."""
        with translated():
            connection = self.script_connections.get(self.client)
            return self.scripts.run_after(connection, first, script, call)

    def scan_keys(self, match: str) -> Iterator[str]:
        """Stored keys matching the SCAN pattern ``match``, each once (never KEYS)."""
        seen: set[str] = set()  # SCAN may return a key twice while the table is rehashed
        with translated():
            for raw in self.client.scan_iter(match=match, count=SCAN_COUNT):
                key = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
                if key not in seen:
                    seen.add(key)
                    yield key

    def close(self) -> None:
        """Close subscriptions, disconnect the script connections and the clients' pools
        (idempotent; everything reconnects if used again)."""
        for subscription in list(self.subscriptions):
            subscription.close()
        with translated():
            self.script_connections.close()
            for client in (self._client, self._resp2_client):
                if client is not None:
                    client.connection_pool.disconnect()
