"""A local Redis Cluster for tests and experiments: primaries and replicas on 127.0.0.1.

The cluster is formed through redis-py, as ``redis-cli --cluster create`` does it (redis-cli is
not needed): slots split evenly over the primaries, distinct config epochs, ``CLUSTER MEET``,
then ``CLUSTER REPLICATE``. :meth:`LocalCluster.start` returns once every node reports
``cluster_state:ok``, agrees on who serves which slots, and every replica is in sync.

Example:
    >>> with LocalCluster() as cluster:                    # 3 primaries, 1 replica each
    ...     client = redis.cluster.RedisCluster.from_url(cluster.urls[0])
    ...     new_primary = cluster.failover(cluster.primaries()[0])
"""

from __future__ import annotations

import time
from typing import Any

import redis
from redis.cluster import RedisCluster

from alsek.adapters.redis.topology import (
    LOOPBACK,
    REPLICATION_ARGUMENTS,
    Address,
    ConfiguredServer,
    TopologyError,
    in_sync,
    log_tails,
    role,
    start_with_port_pair,
    stop_all,
    wait_for,
)
from alsek.domain.model.errors import ValidationError

SLOTS = 16384
_FAILOVER_ATTEMPT_MS = 10_000  # Redis gives a manual failover 5 s


class LocalCluster:
    """A Redis Cluster of ``redis-server --cluster-enabled yes`` processes on 127.0.0.1.

    Args:
        primaries: how many primaries share the 16384 slots: at least 3 with replicas (so that
            a majority of primaries can elect a replica), at least 1 without.
        replicas_per_primary: replicas of each primary.
        binary: the redis-server to run; found like :class:`RedisServer`'s when None.
        node_timeout_ms: ``cluster-node-timeout``; generous, so that a busy machine is not taken
            for failed nodes.
        timeout_ms: bound of every wait (forming the cluster, a failover).

    Raises:
        ValidationError: for too few primaries or a negative number of replicas.
    """

    def __init__(
        self,
        primaries: int = 3,
        replicas_per_primary: int = 1,
        *,
        binary: str | None = None,
        node_timeout_ms: int = 5_000,
        timeout_ms: int = 60_000,
    ) -> None:
        if primaries < (3 if replicas_per_primary else 1) or replicas_per_primary < 0:
            raise ValidationError(
                "a LocalCluster needs at least 3 primaries (1 without replicas) and no negative "
                "replica count, "
                f"got primaries={primaries}, replicas_per_primary={replicas_per_primary}"
            )
        self.primary_count = primaries
        self.replicas_per_primary = replicas_per_primary
        self.timeout_ms = timeout_ms
        self._binary = binary
        self._node_timeout_ms = node_timeout_ms
        self.nodes: list[ConfiguredServer] = []

    # -- addresses ---------------------------------------------------------------------------

    @property
    def startup_nodes(self) -> list[Address]:
        """``(host, port)`` of every node, in start order (primaries first at start)."""
        return [node.address for node in self.nodes]

    @property
    def urls(self) -> list[str]:
        """``redis://127.0.0.1:<port>/0`` of every node (any one can seed a cluster client)."""
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """A ``redis+cluster://`` URL of every node, for :class:`RedisBackend`."""
        return "redis+cluster://" + ",".join(f"{h}:{p}" for h, p in self.startup_nodes) + "/"

    def client(self, **kwargs: Any) -> RedisCluster:
        """A ``RedisCluster`` client seeded with every node (text replies unless overridden)."""
        settings = {"decode_responses": True, "socket_timeout": 5.0, **kwargs}
        nodes = [redis.cluster.ClusterNode(host, port) for host, port in self.startup_nodes]
        return RedisCluster(startup_nodes=nodes, **settings)

    def primaries(self) -> list[Address]:
        """The nodes serving slots now, ordered by their first slot (as the first node sees it)."""
        serving = _serving(_roles(self.nodes[0]))
        return sorted(serving, key=serving.__getitem__)

    def replicas_of(self, primary: Address) -> list[Address]:
        """The replicas of ``primary`` as ``primary`` itself lists them."""
        roles = _roles(self._node(primary))
        return sorted(address for address, (of, _) in roles.items() if of == tuple(primary))

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> LocalCluster:
        """Start every node, form the cluster and wait until it is ready (idempotent).

        Raises:
            RedisServerError: if a node cannot start.
            TopologyError: if the cluster does not form within ``timeout_ms`` (with the nodes'
                log tails).
        """
        if self.nodes:
            return self
        count = self.primary_count * (1 + self.replicas_per_primary)
        try:
            for _ in range(count):
                self.nodes.append(start_with_port_pair(self._make_node))
            self._form()
        except BaseException as error:
            tails = log_tails(self.nodes)
            self.stop()
            if isinstance(error, TopologyError):
                raise TopologyError(f"{error}\n{tails}") from error
            raise
        return self

    def stop(self) -> None:
        """Stop every node and remove their temporary directories (idempotent)."""
        stop_all(self.nodes)
        self.nodes = []

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        ports = ",".join(str(node.port) for node in self.nodes) or "stopped"
        return f"LocalCluster({self.primary_count}x{1 + self.replicas_per_primary}: {ports})"

    # -- failover ----------------------------------------------------------------------------

    def failover(self, primary: Address) -> Address:
        """Promote a replica of ``primary`` (``CLUSTER FAILOVER`` on it) and wait until the roles
        flipped on every node and the old primary is an in-sync replica of the new one.

        Returns:
            The address of the new primary.

        Raises:
            TopologyError: if ``primary`` has no replica or the failover does not complete
                within ``timeout_ms``.
        """
        replicas = self.replicas_of(primary)
        if not replicas:
            raise TopologyError(f"{primary} has no replica to promote")
        chosen = replicas[0]
        node = self._node(chosen)
        what = f"failover of {primary} to {chosen}"
        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:  # a manual failover gives up after 5 s without votes: ask again
            with node.client() as client:
                client.execute_command("CLUSTER", "FAILOVER")
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            try:
                wait_for(
                    lambda: role(node) == "master",
                    timeout_ms=max(min(_FAILOVER_ATTEMPT_MS, remaining_ms), 0),
                    what=what,
                )
                break
            except TopologyError:
                if time.monotonic() >= deadline:
                    raise
        self._await_ready(what)
        return chosen

    # -- forming -----------------------------------------------------------------------------

    def _make_node(self, port: int) -> ConfiguredServer:
        options = (
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self._node_timeout_ms), *REPLICATION_ARGUMENTS,
        )  # fmt: skip
        return ConfiguredServer(port, options=options, binary=self._binary)

    def _form(self) -> None:
        primaries = self.nodes[: self.primary_count]
        ids = {}
        for node in primaries:
            with node.client() as client:
                ids[node.address] = client.execute_command("CLUSTER", "MYID")
        for index, node in enumerate(primaries):
            first = index * SLOTS // len(primaries)
            last = (index + 1) * SLOTS // len(primaries)
            with node.client() as client:
                client.execute_command("CLUSTER", "ADDSLOTS", *range(first, last))
        for epoch, node in enumerate(self.nodes, start=1):  # distinct epochs: no collisions
            with node.client() as client:
                client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
        for index, node in enumerate(self.nodes):  # a full mesh: no wait for gossip
            with node.client() as client:
                for other in self.nodes[index + 1 :]:
                    client.execute_command("CLUSTER", "MEET", LOOPBACK, other.port)
        wait_for(self._all_know_each_other, timeout_ms=self.timeout_ms, what="CLUSTER MEET")
        for index, node in enumerate(self.nodes[self.primary_count :]):
            primary = primaries[index % self.primary_count]
            with node.client() as client:
                client.execute_command("CLUSTER", "REPLICATE", ids[primary.address])
        self._await_ready("cluster formation")

    def _all_know_each_other(self) -> bool:
        for node in self.nodes:
            lines = _node_lines(node)
            if len(lines) != len(self.nodes) or any(
                {"handshake", "noaddr"} & set(fields[2].split(",")) for fields in lines
            ):
                return False
        return True

    def _await_ready(self, what: str) -> None:
        wait_for(self._ready, timeout_ms=self.timeout_ms, what=f"{what}: cluster ready")

    def _ready(self) -> bool:
        """Every node: state ok and the same view of primaries and replicas; every replica of a
        serving primary, and in sync."""
        views = []
        for node in self.nodes:
            with node.client() as client:
                if "cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                    return False
            views.append(_roles(node))
        if any(view != views[0] for view in views):
            return False
        serving = _serving(views[0])
        replicas = [node for node in self.nodes if node.address not in serving]
        return (
            len(serving) == self.primary_count
            and all(views[0][node.address][0] in serving for node in replicas)
            and all(in_sync(node) for node in replicas)
        )

    def _node(self, address: Address) -> ConfiguredServer:
        for node in self.nodes:
            if node.address == tuple(address):
                return node
        raise TopologyError(f"{address} is not a node of {self!r}")


def _node_lines(node: ConfiguredServer) -> list[list[str]]:
    """``CLUSTER NODES`` of ``node``, one list of fields per node it knows."""
    with node.client() as client:
        text = client.execute_command("CLUSTER", "NODES")
    return [line.split() for line in str(text).splitlines() if line.strip()]


def _roles(node: ConfiguredServer) -> dict[Address, tuple[Address | None, tuple[int, ...]]]:
    """The cluster as ``node`` sees it: per node, its primary (None for a primary) and the slot
    bounds it serves (``first, last, ...``)."""
    lines = _node_lines(node)
    addresses = {fields[0]: (LOOPBACK, _port_of(fields)) for fields in lines}
    roles: dict[Address, tuple[Address | None, tuple[int, ...]]] = {}
    for fields in lines:
        bounds = [int(b) for part in fields[8:] if "[" not in part for b in part.split("-")]
        primary = None if fields[3] == "-" else addresses.get(fields[3], (fields[3], 0))
        roles[addresses[fields[0]]] = (primary, tuple(sorted(bounds)))
    return roles


def _serving(roles: dict[Address, tuple[Address | None, tuple[int, ...]]]) -> dict[Address, int]:
    """The primaries serving slots in ``roles``, with their first slot."""
    return {address: bounds[0] for address, (primary, bounds) in roles.items() if bounds}


def _port_of(fields: list[str]) -> int:
    """The client port of a ``CLUSTER NODES`` line (``ip:port@busport[,hostname]``)."""
    return int(fields[1].split("@")[0].rpartition(":")[2])
