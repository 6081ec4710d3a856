"""The Redis backend: a :class:`~alsek.adapters.redis.keyvalue.RedisKeyValueStore` and a
:class:`~alsek.adapters.redis.queue.RedisMessageQueue` over one
:class:`~alsek.adapters.redis.session.RedisSession`.
"""

from __future__ import annotations

from typing import Any

import redis

from alsek.adapters.codec import check_max_bytes
from alsek.adapters.composed import ComposedBackend
from alsek.adapters.redis.client import class_path, client_from_description, import_path
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.keyvalue import RedisKeyValueStore
from alsek.adapters.redis.queue import RedisMessageQueue
from alsek.adapters.redis.session import Connection, RedisSession
from alsek.domain.model.errors import ValidationError
from alsek.ports.clock import Clock
from alsek.ports.keyvalue import DEFAULT_NAMESPACE
from alsek.ports.serializer import Serializer


class RedisBackend(ComposedBackend):
    """A backend on Redis (>= 6.2; redis-py >= 5).

    Nothing connects at construction: the client is made on first use, and redis-py connects on
    the first command. Each queue operation is one Lua script call, registered once and called
    by SHA: one round trip, atomic, effects included. Pickling the backend carries a description
    (connection settings or URL, namespace, serializer and clock classes), never the client: a
    child process opens its own connections.

    Args:
        connection: None (localhost:6379), a ``redis://``/``rediss://``/``unix://`` URL, a
            ``redis.Redis`` or a :class:`LazyClient`.
        namespace: prefix of every key (default ``"alsek"``).
        serializer: encodes values (default :class:`JsonSerializer`).
        clock: the source of time in ms (default: the system's). On the system clock, leases
            and due times come from Redis' clock (``TIME``), so workers whose clocks disagree
            never take each other's messages early; another clock (a test's) sets them itself.
        max_message_bytes: the longest encoded message body a submission may have (None: no
            limit); a longer one raises :class:`MessageTooLargeError` and nothing is stored.
        conn: Alsek 1.3.2's name for ``connection`` (give one or the other).

    Raises:
        ValidationError: for a connection of another type, a namespace holding ``:``, glob
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
        conn: Connection = None,
    ) -> None:
        if conn is not None:
            if connection is not None:
                raise ValidationError("give connection or conn (Alsek 1.3.2's name), not both")
            connection = conn
        self._session = RedisSession(connection)
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
    def conn(self) -> redis.Redis:
        """Alsek 1.3.2's name of :attr:`client`."""
        return self.client

    @property
    def client(self) -> redis.Redis:
        """The redis-py client, made on first use (no connection is opened until a command)."""
        return self._session.client

    # -- description (pickling) --------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """A plain, picklable description a child process rebuilds this backend from.

        The connection is the URL given (or None), else the settings of the client (a
        :class:`LazyClient`'s factory is called for them: that builds a client, it connects
        nothing). Passwords are included. Credential providers and custom objects are not.
        """
        return {
            "connection": self._session.describe_connection(),
            "namespace": self.namespace,
            "serializer": class_path(self.serializer),
            "clock": class_path(self.clock),
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

    def close(self) -> None:
        """Close subscriptions, disconnect the script connections and the client's pool
        (idempotent; the backend reconnects if used again)."""
        self._session.close()
