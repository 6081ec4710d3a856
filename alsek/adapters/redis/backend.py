"""The Redis backend: a :class:`~alsek.adapters.redis.keyvalue.RedisKeyValueStore` and a
:class:`~alsek.adapters.redis.queue.RedisMessageQueue` over one
:class:`~alsek.adapters.redis.session.RedisSession`.
"""

from __future__ import annotations

from typing import Any

from alsek.adapters.codec import check_max_bytes
from alsek.adapters.composed import ComposedBackend
from alsek.adapters.redis.aio_backend import AsyncRedisBackend
from alsek.adapters.redis.client import class_path, import_path
from alsek.adapters.redis.descriptions import address_of, client_from_description, server_key
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.keyvalue import RedisKeyValueStore
from alsek.adapters.redis.queue import RedisMessageQueue
from alsek.adapters.redis.session import Connection, RedisSession
from alsek.domain.model.errors import ValidationError
from alsek.ports.clock import Clock
from alsek.ports.keyvalue import DEFAULT_NAMESPACE
from alsek.ports.serializer import Serializer


class RedisBackend(ComposedBackend):
    """A backend on Redis (>= 6.2; redis-py >= 5): one server, a Sentinel-managed primary or a
    Redis Cluster.

    Nothing connects at construction: the client is made on first use, and redis-py connects on
    the first command (a cluster client reads the slot map then). Each queue operation is one
    Lua script call, registered once and called by SHA: one round trip, atomic, effects
    included. On a cluster every script touches one slot (the queue's); writes of another slot
    (results, statuses, callbacks to other queues) go in a separate step, before an ack (a crash
    between repeats them, never loses them) and after a submit. Pickling the backend carries a
    description (connection settings or URL, namespace, serializer and clock classes), never the
    client: a child process opens its own connections.

    A given client without socket timeouts is used through a twin that has them (5 s to
    connect, 30 s per reply), so that a dead connection fails a call instead of hanging a
    worker; so is one that decodes replies (bodies are bytes).

    Args:
        connection: None (localhost:6379), a URL (``redis://``, ``rediss://``, ``unix://``,
            ``redis+sentinel://host:26379,.../service``, ``redis+cluster://host:port,...``), a
            ``redis.Redis`` (``Sentinel.master_for()`` included), a ``RedisCluster`` or a
            :class:`LazyClient`.
        namespace: prefix of every key (default ``"alsek"``).
        serializer: encodes values (default :class:`JsonSerializer`).
        clock: the source of time in ms (default: the system's). On the system clock, leases
            and due times come from Redis' clock (``TIME``), so workers whose clocks disagree
            never take each other's messages early; another clock (a test's) sets them itself.
        max_message_bytes: the longest encoded message body a submission may have (None: no
            limit); a longer one raises :class:`MessageTooLargeError` and nothing is stored.
        conn: Alsek 1.3.2's name for ``connection`` (give one or the other).
        durable: replicas that must have each submission before ``submit`` returns (Redis
            ``WAIT``, in the same round trip): True or 1 for one replica, 0 (default) for none.
            Redis replicates asynchronously: without it, a submission the primary acknowledged
            just before it died may be lost by the failover.
        durable_timeout_ms: how long a durable submission waits for its replicas before it
            raises ``BackendConnectionError`` (the message is then on the primary only).

    Raises:
        ValidationError: for a connection of another type, a malformed URL (the error masks
            its password), a Sentinel client of replicas, a namespace holding ``:``, glob
            characters or braces, or a ``max_message_bytes`` that is not a positive int.
    """

    def __init__(
        self,
        connection: Connection = None,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        serializer: Serializer | None = None,
        clock: Clock | None = None,
        max_message_bytes: int | None = None,
        durable: int = 0,
        durable_timeout_ms: int = 1_000,
        conn: Connection = None,
    ) -> None:
        if conn is not None:
            if connection is not None:
                raise ValidationError("give connection or conn (Alsek 1.3.2's name), not both")
            connection = conn
        self._session = RedisSession(
            connection, durable=durable, durable_timeout_ms=durable_timeout_ms
        )
        self.max_message_bytes = check_max_bytes(max_message_bytes)
        super().__init__(namespace, serializer, clock)

    def build_components(
        self, namespace: str, serializer: Serializer, clock: Clock
    ) -> tuple[RedisKeyValueStore, RedisMessageQueue]:
        """The two components over this backend's session for this context.

        Raises:
            ValidationError: if ``namespace`` is empty or holds a brace.
        """
        keys = KeyLayout(namespace)
        return (
            RedisKeyValueStore(self._session, keys, serializer, clock),
            RedisMessageQueue(
                self._session, keys, serializer, clock, max_message_bytes=self.max_message_bytes
            ),
        )

    #: Alsek 1.3.2's capability flags.
    IS_ASYNC = False
    SUPPORTS_PUBSUB = True

    @property
    def conn(self) -> Any:
        """Alsek 1.3.2's name of :attr:`client`."""
        return self.client

    @property
    def client(self) -> Any:
        """The redis-py client (``Redis`` or ``RedisCluster``), made on first use."""
        return self._session.client

    @property
    def address(self) -> str:
        """Where this backend's Redis is, for people: its URL with the password masked, or for
        a client given, what its settings say (no connection is made)."""
        return address_of(self._session.connection)

    @property
    def server(self) -> tuple[Any, ...] | None:
        """What identifies its server and database (None for a client given): see
        :func:`~alsek.adapters.redis.descriptions.server_key`."""
        return server_key(self._session.connection)

    # -- description (pickling) --------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """A plain, picklable description a child process rebuilds this backend from.

        The connection is the URL given (or None), else the settings of the client by kind: a
        server's, a Sentinel client's (the sentinels' addresses, the service, the primary's
        settings) or a cluster client's (every node known, as startup nodes). A
        :class:`LazyClient`'s factory is called for them (a cluster client reads the slot map
        then). Passwords are included. Credential providers and custom objects are not.
        """
        return {
            "connection": self._session.describe_connection(),
            "namespace": self.namespace,
            "serializer": class_path(self.serializer),
            "clock": class_path(self.clock),
            "durable": self._session.durable,
            "durable_timeout_ms": self._session.durable_timeout_ms,
            "max_message_bytes": self.max_message_bytes,
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
            durable=description.get("durable", 0),
            durable_timeout_ms=description.get("durable_timeout_ms", 1_000),
            max_message_bytes=description.get("max_message_bytes"),
        )

    def __copy__(self) -> Any:
        # A shallow copy shares the client and the clock (pickling builds new ones), with its
        # own script connections and subscriptions.
        twin = object.__new__(type(self))
        twin.__dict__["_session"] = self._session.twin()
        twin.__dict__["max_message_bytes"] = self.max_message_bytes
        twin._rebuild(
            {"namespace": self.namespace, "serializer": self.serializer, "clock": self.clock}
        )
        return twin

    def __reduce__(self) -> Any:
        return (self.from_description, (self.describe(),))

    def to_async(self) -> AsyncRedisBackend:
        """An :class:`AsyncRedisBackend` on the same server, namespace, serializer and clock
        (its own ``redis.asyncio`` connections, per event loop).

        Raises:
            ValidationError: for a Sentinel or Cluster connection (the asyncio backend serves
                one server).
        """
        spec = self._session.describe_connection()
        if "url" not in spec and spec.get("kind") != "redis":
            raise ValidationError("the asyncio backend serves one Redis server")
        return AsyncRedisBackend(
            spec["url"] if "url" in spec else spec["kwargs"],
            namespace=self.namespace, serializer=self.serializer, clock=self.clock,
            max_message_bytes=self.max_message_bytes, durable=self._session.durable,
            durable_timeout_ms=self._session.durable_timeout_ms,
        )  # fmt: skip

    def close(self) -> None:
        """Close subscriptions, disconnect the script connections and the client's pool
        (idempotent; the backend reconnects if used again)."""
        self._session.close()
