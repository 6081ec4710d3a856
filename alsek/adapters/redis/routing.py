"""Where each script call goes: the one server (or the primary Sentinel names), or the cluster
node that serves the call's slot.

Every script call declares its keys, all of one slot on a cluster (the queue's hash tag, or one
message's), so the first key names the node. The cluster route follows the topology as it
changes: ``MOVED`` (a failover or a reshard finished) refreshes the slot map and tries again,
``ASK`` (a slot in migration) asks the importing node once, ``TRYAGAIN``/``CLUSTERDOWN`` and lost
connections (a failover in progress) are tried again after a short pause, within
:data:`FAILOVER_RETRY_S`; past that the error reaches the caller, as an outage.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from typing import Any

import redis
from redis.cluster import RedisCluster

from alsek.adapters.redis.connections import ThreadConnections
from alsek.adapters.redis.scripts import Call, ScriptSet, connect, read, send

_E = redis.exceptions

#: How long (seconds) a cluster script call keeps trying through a topology change.
FAILOVER_RETRY_S = 5.0
_FIRST_PAUSE_S = 0.02
_MAX_PAUSE_S = 0.5


class DirectRoute:
    """Script calls on one server, or on the primary a Sentinel-managed pool connects to (each
    connection asks Sentinel when it connects, so after a failover it finds the new primary)."""

    cluster = False

    def __init__(self, client: redis.Redis, scripts: ScriptSet, connections: ThreadConnections):
        self._pool = client.connection_pool
        self._scripts = scripts
        self._connections = connections

    def run(self, name: str, call: Call) -> Any:
        """Run script ``name`` (one round trip)."""
        return self._scripts.run(self._connections.get(self._pool), name, call)

    def run_after(self, first: tuple[Any, ...], name: str, call: Call) -> tuple[Any, Any]:
        """Send ``first`` and the script in one write; return both replies."""
        return self._scripts.run_after(self._connections.get(self._pool), first, name, call)

    def run_then(self, name: str, call: Call, then: tuple[Any, ...]) -> tuple[Any, Any]:
        """Send the script and ``then`` in one write; return both replies."""
        return self._scripts.run_then(self._connections.get(self._pool), name, call, then)

    def run_many(self, name: str, calls: Sequence[Call]) -> list[Any]:
        """Run script ``name`` once per call, pipelined (one round trip); return the replies."""
        if len(calls) == 1:
            return [self.run(name, calls[0])]
        connection = self._connections.get(self._pool)
        connect(connection)
        send(connection, [self._scripts.command(name, call) for call in calls])
        replies = read(connection, len(calls))
        return [  # a reply error (NOSCRIPT, or a real one) is asked again alone, to raise it
            self.run(name, call) if isinstance(reply, _E.ResponseError) else reply
            for call, reply in zip(calls, replies, strict=True)
        ]

    def disconnect_thread(self) -> None:
        """Drop this thread's connection (the next call connects again, through Sentinel)."""
        self._connections.get(self._pool).disconnect()


class ClusterRoute:
    """Script calls on the cluster node serving the slot of each call's keys."""

    cluster = True

    def __init__(self, client: RedisCluster, scripts: ScriptSet, connections: ThreadConnections):
        self._client = client
        self._scripts = scripts
        self._connections = connections
        self._refresh_lock = threading.Lock()
        self._generation = 0

    def run(self, name: str, call: Call) -> Any:
        """Run script ``name`` on the node of the call's slot, following the topology."""
        return self._retrying(call, lambda connection: self._scripts.run(connection, name, call))

    def run_after(self, first: tuple[Any, ...], name: str, call: Call) -> tuple[Any, Any]:
        """Send ``first`` (keys of the call's slot) and the script in one write to the node of
        the call's slot; return both replies."""
        return self._retrying(  # type: ignore[no-any-return]
            call, lambda connection: self._scripts.run_after(connection, first, name, call)
        )

    def run_then(self, name: str, call: Call, then: tuple[Any, ...]) -> tuple[Any, Any]:
        """Send the script and ``then`` in one write to the node of the call's slot; return
        both replies."""
        return self._retrying(  # type: ignore[no-any-return]
            call, lambda connection: self._scripts.run_then(connection, name, call, then)
        )

    def run_many(self, name: str, calls: Sequence[Call]) -> list[Any]:
        """Run script ``name`` once per call: pipelined per node, the nodes written to before
        any is read (one round trip in all); a call that fails is run again on its own."""
        if len(calls) == 1:
            return [self.run(name, calls[0])]
        groups: dict[str, tuple[Any, list[int]]] = {}
        for index, call in enumerate(calls):
            try:
                node = self._node(call)
            except (_E.RedisError, _E.RedisClusterException):
                node = None
            if node is not None:
                groups.setdefault(node.name, (node, []))[1].append(index)
        replies: list[Any] = [None] * len(calls)
        failed = set(range(len(calls))) - {i for _, indexes in groups.values() for i in indexes}
        sent = []
        for node, indexes in groups.values():
            connection = self._connection(node)
            try:
                connect(connection)
                send(connection, [self._scripts.command(name, calls[i]) for i in indexes])
                sent.append((node, connection, indexes))
            except (_E.ConnectionError, _E.TimeoutError):
                self._connections.forget_node(node.name)
                failed.update(indexes)
        for node, connection, indexes in sent:
            try:
                for index, reply in zip(indexes, read(connection, len(indexes)), strict=True):
                    replies[index] = reply
                    if isinstance(reply, _E.ResponseError):
                        failed.add(index)
            except (_E.ConnectionError, _E.TimeoutError):
                self._connections.forget_node(node.name)
                failed.update(indexes)
        for index in sorted(failed):
            replies[index] = self.run(name, calls[index])
        return replies

    def disconnect_thread(self) -> None:
        """Nothing to do: cluster connections follow MOVED replies."""

    # -- internals ---------------------------------------------------------------------------

    def _node(self, call: Call) -> Any:
        if call.keys:
            return self._client.get_node_from_key(call.keys[0])
        return self._client.get_default_node()

    def _connection(self, node: Any) -> Any:
        return self._connections.for_node(node.name, node.redis_connection.connection_pool)

    def _retrying(self, call: Call, attempt: Any) -> Any:
        deadline = time.monotonic() + FAILOVER_RETRY_S
        pause = _FIRST_PAUSE_S
        while True:
            generation = self._generation
            node = None
            try:
                node = self._node(call)
                return attempt(self._connection(node))
            except _E.MovedError as error:
                self._refresh(generation)
                last: Exception = error
            except _E.AskError as error:
                target = self._client.get_node(host=error.host, port=error.port)
                if target is not None:
                    return self._asking(target, attempt)
                self._refresh(generation)
                last = error
            except (_E.TryAgainError, _E.ClusterDownError, _E.SlotNotCoveredError) as error:
                self._refresh(generation)
                last = error
            except (_E.ConnectionError, _E.TimeoutError) as error:
                if node is not None:
                    self._connections.forget_node(node.name)
                self._refresh(generation)
                last = error
            if time.monotonic() + pause > deadline:
                raise last
            time.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE_S)

    def _asking(self, node: Any, attempt: Any) -> Any:
        connection = self._connection(node)
        connect(connection)
        connection.send_command("ASKING")
        connection.read_response()
        return attempt(connection)

    def _refresh(self, seen: int) -> None:
        """Reload the slot map, unless another thread did since ``seen``."""
        with self._refresh_lock:
            if self._generation != seen:
                return
            # When no node answers, the next attempt (or the caller) sees the outage.
            with contextlib.suppress(_E.RedisError, _E.RedisClusterException):
                self._client.nodes_manager.initialize()
            self._generation += 1
