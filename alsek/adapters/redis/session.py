"""The connection side of a :class:`RedisBackend`, shared by its two components: the lazy
client, the Lua scripts and their per-thread connections, SCAN, and pub/sub clients."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import redis
from redis.cluster import RedisCluster

from alsek.adapters.redis import client as client_module
from alsek.adapters.redis.client import LazyClient, fork_safe, pools_of, translated
from alsek.adapters.redis.connections import ThreadConnections
from alsek.adapters.redis.descriptions import (
    Client,
    client_from_url,
    connection_kwargs,
    describe_client,
    kind_of,
    twin,
    usable,
)
from alsek.adapters.redis.routing import ClusterRoute, DirectRoute
from alsek.adapters.redis.scripts import Call, load_all
from alsek.adapters.redis.steps import After, ClientCall, Command, Mget, Scan, Script, Sleep, Step
from alsek.adapters.redis.subscription import RedisSubscription
from alsek.adapters.redis.urls import parse
from alsek.domain.model.errors import BackendConnectionError, ValidationError

Connection = str | redis.Redis | RedisCluster | LazyClient | None

#: Keys asked for per SCAN step, and per MGET/UNLINK batch of admin calls.
SCAN_COUNT = 1000


class RedisSession:
    """One backend's way to Redis. Nothing connects at construction.

    Args:
        connection: None (localhost:6379), a URL (``redis://``, ``rediss://``, ``unix://``,
            ``redis+sentinel://``, ``redis+cluster://``: see :mod:`alsek.adapters.redis.urls`),
            a ``redis.Redis`` (``Sentinel.master_for()`` included), a ``RedisCluster`` or a
            :class:`LazyClient`.
        durable: replicas that must have each submission before it returns (``WAIT``); 0
            (False): none, True: 1.
        durable_timeout_ms: how long a submission waits for them.

    Raises:
        ValidationError: for a connection of another type, a malformed URL, a Sentinel client
            of replicas, or a negative ``durable``/``durable_timeout_ms``.
    """

    def __init__(
        self, connection: Connection = None, *, durable: int = 0, durable_timeout_ms: int = 1_000
    ) -> None:
        if not (
            connection is None
            or isinstance(connection, (str, redis.Redis, RedisCluster, LazyClient))
        ):
            raise ValidationError(
                "connection must be None, a URL, a redis.Redis, a RedisCluster or a LazyClient, "
                f"got {type(connection).__name__}"
            )
        if isinstance(connection, str):
            parse(connection)
        elif isinstance(connection, (redis.Redis, RedisCluster)):
            kind_of(connection)
        if not (isinstance(durable, int) and durable >= 0):
            raise ValidationError(f"durable must be a number of replicas >= 0, got {durable!r}")
        if not (isinstance(durable_timeout_ms, int) and durable_timeout_ms > 0):
            raise ValidationError(
                f"durable_timeout_ms must be a positive int, got {durable_timeout_ms!r}"
            )
        self.durable = int(durable)
        self.durable_timeout_ms = durable_timeout_ms
        #: Runs a submission's script: :meth:`run`, or with ``durable`` :meth:`run_durably`.
        self.run_submit = self.run_durably if self.durable else self.run
        self.connection = connection
        self._client: Client | None = None
        self._resp2_client: Client | None = None
        self._route: DirectRoute | ClusterRoute | None = None
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
        twin._route = twin._make_route(twin.client)
        twin.run_submit = twin.run_durably if twin.durable else twin.run
        return twin

    @property
    def client(self) -> Any:
        """The redis-py client (``Redis`` or ``RedisCluster``), made on first use (a cluster
        client reads the slot map then; other clients open no connection until a command)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    client = self._make_client()
                    self._route = self._make_route(client)
                    self._client = client
        return self._client

    @property
    def cluster(self) -> bool:
        """Whether Redis is a cluster (scripts then touch the keys of one slot each)."""
        if self._route is None:
            self.client  # noqa: B018 - made now, with its route
        return self._route is not None and self._route.cluster

    def _make_client(self) -> Client:
        connection = self.connection
        if isinstance(connection, LazyClient):
            connection = connection.get()
            with translated():
                kind_of(connection)
        if isinstance(connection, (redis.Redis, RedisCluster)):
            with translated():
                return fork_safe(usable(connection))
        return fork_safe(client_from_url(connection))

    def _make_route(self, client: Client) -> DirectRoute | ClusterRoute:
        if isinstance(client, RedisCluster):
            return ClusterRoute(client, self.scripts, self.script_connections)
        return DirectRoute(client, self.scripts, self.script_connections)

    @property
    def socket_timeout(self) -> float | None:
        """The client's socket timeout in seconds (None: none)."""
        value = connection_kwargs(self.client).get("socket_timeout")
        return float(value) if value else None

    def pubsub_client(self) -> Any:
        """The client subscriptions use: the backend's own, or for a RESP3 client a RESP2 twin
        (redis-py 5's pure-Python RESP3 parser blocks in ``get_message`` after a push reply)."""
        client = self.client
        if str(connection_kwargs(client).get("protocol")) != "3":
            return client
        if self._resp2_client is None:
            with translated():
                self._resp2_client = fork_safe(twin(client, protocol=2))
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
        route = self._route or self._ready_route()
        try:
            with translated():
                return route.run(script, call)
        except BackendConnectionError:
            route.disconnect_thread()  # e.g. READONLY: reconnect (through Sentinel) next time
            raise

    def run_durably(self, script: str, call: Call) -> Any:
        """Run ``script`` and ``WAIT`` for :attr:`durable` replicas to have its writes, in one
        round trip (the reply comes once they have them, or after the timeout).

        Raises:
            BackendConnectionError: if fewer replicas confirmed in time (the writes are on the
                primary; a failover before they reach a replica may lose them).
        """
        route = self._route or self._ready_route()
        wait = ("WAIT", self.durable, self.durable_timeout_ms)
        with translated():
            reply, confirmed = route.run_then(script, call, wait)
        if int(confirmed) < self.durable:
            raise BackendConnectionError(
                f"{script}: {confirmed} of {self.durable} replica(s) confirmed the write within "
                f"{self.durable_timeout_ms} ms; it is on the primary only"
            )
        return reply

    def run_many(self, script: str, calls: Sequence[Call]) -> list[Any]:
        """Run ``script`` once per call, pipelined (per node on a cluster); return the
        replies in order."""
        route = self._route or self._ready_route()
        with translated():
            return route.run_many(script, calls)

    def _ready_route(self) -> DirectRoute | ClusterRoute:
        self.client  # noqa: B018 - makes the route with the client
        assert self._route is not None
        return self._route

    def run_after(self, first: tuple[Any, ...], script: str, call: Call) -> tuple[Any, Any]:
        """Send the command ``first`` and ``script`` in one write; return both replies."""
        route = self._route or self._ready_route()
        with translated():
            return route.run_after(first, script, call)

    def perform(self, step: Step) -> Any:
        """Perform one step of an operation (see :mod:`alsek.adapters.redis.steps`).

        Raises:
            BackendError: translated from redis-py.
        """
        if isinstance(step, Script):
            return (self.run_submit if step.submit else self.run)(step.name, step.call)
        if isinstance(step, After):
            return self.run_after(step.first, step.name, step.call)
        if isinstance(step, Mget):
            return self.mget(list(step.keys))
        if isinstance(step, Scan):
            return list(self.scan_keys(step.match))
        if isinstance(step, Sleep):
            return time.sleep(step.seconds)
        with translated():
            if isinstance(step, Command):
                return self.client.execute_command(*step.args)
            if isinstance(step, ClientCall):
                return getattr(self.client, step.method)(*step.args, **(step.kwargs or {}))
            pipe = self.client.pipeline(transaction=False)
            for command in step.commands:
                pipe.execute_command(*command)
            return pipe.execute()

    def mget(self, keys: list[str]) -> list[Any]:
        """The values of stored ``keys`` (None for absent ones): one MGET, or on a cluster one
        per slot, pipelined per node."""
        client = self.client
        with translated():
            if self._route is not None and self._route.cluster:
                return list(client.mget_nonatomic(keys))
            return list(client.mget(keys))

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
                    for pool in pools_of(client):
                        pool.disconnect()
