"""A local Redis Sentinel set for tests and experiments: a primary, replicas and sentinels.

Every process listens on 127.0.0.1. :meth:`LocalSentinel.start` returns once every replica is
in sync and every sentinel monitors the primary and knows every replica and every other
sentinel, so that a failover can be asked for at once.

Example:
    >>> with LocalSentinel() as topology:                 # 1 primary, 1 replica, 3 sentinels
    ...     sentinel = redis.sentinel.Sentinel(topology.sentinel_addresses)
    ...     primary = sentinel.master_for(topology.service_name)
    ...     new_address = topology.failover()
"""

from __future__ import annotations

import functools
import time
from typing import Any

import redis
from redis.sentinel import Sentinel

from alsek.adapters.redis.topology import (
    LOOPBACK,
    REPLICATION_ARGUMENTS,
    Address,
    ConfiguredServer,
    TopologyError,
    demote,
    in_sync,
    log_tails,
    replicates,
    role,
    sentinel_knows_all,
    start_all,
    stop_all,
    takes_writes,
    wait_for,
)
from alsek.domain.model.errors import ValidationError

# Failovers refused while Sentinel is busy or has no eligible replica yet: asked again.
_RETRIED_FAILOVER_ERRORS = ("INPROG", "NOGOODSLAVE", "NOGOODREPLICA")


class LocalSentinel:
    """A primary, its replicas and ``redis-server --sentinel`` processes monitoring it.

    Args:
        replicas: replicas of the primary (at least 1, so that a failover has a target).
        sentinels: sentinel processes.
        service_name: the name the sentinels monitor the primary under.
        quorum: sentinels that must agree the primary is down; a majority when None.
        down_after_ms: ``down-after-milliseconds``: silence after which a sentinel deems the
            primary down.
        failover_timeout_ms: Sentinel's ``failover-timeout``.
        min_replicas_to_write: ``min-replicas-to-write`` of every server: a primary refuses
            writes while fewer replicas are connected, so a primary that a failover replaced
            stops taking writes (which would be lost) the moment its replica leaves it.
        binary: the redis-server to run; found like :class:`RedisServer`'s when None.
        timeout_ms: bound of every wait (start, a failover).

    Raises:
        ValidationError: for no replica, no sentinel or a quorum out of ``1..sentinels``.
    """

    def __init__(
        self,
        replicas: int = 1,
        sentinels: int = 3,
        service_name: str = "alsek",
        *,
        quorum: int | None = None,
        down_after_ms: int = 2_000,
        failover_timeout_ms: int = 10_000,
        min_replicas_to_write: int = 0,
        binary: str | None = None,
        timeout_ms: int = 60_000,
    ) -> None:
        quorum = sentinels // 2 + 1 if quorum is None else quorum
        if replicas < 1 or sentinels < 1 or not 1 <= quorum <= sentinels:
            raise ValidationError(
                "a LocalSentinel needs a replica, a sentinel and a quorum in 1..sentinels, got "
                f"replicas={replicas}, sentinels={sentinels}, quorum={quorum}"
            )
        self.replica_count = replicas
        self.sentinel_count = sentinels
        self.service_name = service_name
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.min_replicas_to_write = min_replicas_to_write
        self.timeout_ms = timeout_ms
        self._binary = binary
        self.servers: list[ConfiguredServer] = []  # the primary first at start, then replicas
        self.sentinels: list[ConfiguredServer] = []

    # -- addresses ---------------------------------------------------------------------------

    @property
    def sentinel_addresses(self) -> list[Address]:
        """``(host, port)`` of every sentinel."""
        return [sentinel.address for sentinel in self.sentinels]

    @property
    def url(self) -> str:
        """A ``redis+sentinel://`` URL of every sentinel and the service, for
        :class:`RedisBackend`."""
        hosts = ",".join(f"{h}:{p}" for h, p in self.sentinel_addresses)
        return f"redis+sentinel://{hosts}/{self.service_name}"

    def master_address(self) -> Address:
        """The primary's address as the first sentinel that knows it reports it.

        Raises:
            TopologyError: if no sentinel answers with an address.
        """
        for sentinel in self.sentinels:
            try:
                address = self._reported(sentinel)
            except redis.exceptions.RedisError:
                continue
            if address is not None:
                return address
        raise TopologyError(f"no sentinel reports a primary for {self.service_name!r}")

    def sentinel_client(self, **kwargs: Any) -> Sentinel:
        """A redis-py ``Sentinel`` on every sentinel (``kwargs`` go to the data connections)."""
        settings = {"socket_timeout": 5.0, **kwargs}
        return Sentinel(self.sentinel_addresses, **settings)

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> LocalSentinel:
        """Start the primary, the replicas and the sentinels, and wait until they are ready
        (idempotent).

        Raises:
            RedisServerError: if a process cannot start.
            TopologyError: if the set is not ready within ``timeout_ms`` (with log tails).
        """
        if self.servers:
            return self
        try:
            self._start_servers()
            self._start_sentinels()
        except BaseException as error:
            tails = log_tails([*self.servers, *self.sentinels])
            self.stop()
            if isinstance(error, TopologyError):
                raise TopologyError(f"{error}\n{tails}") from error
            raise
        return self

    def stop(self) -> None:
        """Stop the sentinels, then the servers (idempotent)."""
        stop_all(self.sentinels)
        stop_all(self.servers)
        self.sentinels, self.servers = [], []

    def __enter__(self) -> LocalSentinel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        servers = [server.port for server in self.servers]
        sentinels = [sentinel.port for sentinel in self.sentinels]
        return f"LocalSentinel({self.service_name!r}, servers={servers}, sentinels={sentinels})"

    # -- failover ----------------------------------------------------------------------------

    def failover(self) -> Address:
        """``SENTINEL FAILOVER`` and wait until every sentinel reports the same new primary,
        that server answers as a primary, and every other server is an in-sync replica of it.

        Sentinel turns the old primary into a replica only when it sees it still claiming the
        role, 8 to 18 s later (fixed periods of Sentinel); meanwhile a second failover could
        promote it with the writes made since lost. So this does at once what Sentinel would
        do: ``REPLICAOF`` the new primary and disconnect the old primary's clients (they
        reconnect and ask Sentinel again).

        Returns:
            The new primary's address.

        Raises:
            TopologyError: if the failover does not complete within ``timeout_ms``.
        """
        old = self.master_address()
        new = self._failover_from(old, time.monotonic() + self.timeout_ms / 1000)
        demote(self._server(old), new)
        wait_for(
            lambda: all(
                replicates(server, new, self.min_replicas_to_write) for server in self.servers
            ),
            timeout_ms=self.timeout_ms,
            what=f"every other server an in-sync replica of {new}",
        )
        return new

    def _failover_from(self, old: Address, deadline: float) -> Address:
        """Ask for a failover until every sentinel reports a new primary: Sentinel aborts a
        failover that finds no eligible replica yet (a recent failover's replica still
        resyncing) and does not try again by itself, so an attempt not agreed on within two
        ``failover-timeout`` is asked for again, until ``deadline`` (monotonic seconds)."""
        what = f"every sentinel reports a new primary in place of {old}"
        while True:
            left_ms = max(int((deadline - time.monotonic()) * 1000), 1)
            wait_for(self._ask_failover, timeout_ms=left_ms, what="SENTINEL FAILOVER")
            left_ms = max(int((deadline - time.monotonic()) * 1000), 1)
            attempt_ms = min(2 * self.failover_timeout_ms, left_ms)
            try:
                return wait_for(
                    lambda: self._agreed_primary(other_than=old), timeout_ms=attempt_ms, what=what
                )
            except TopologyError:
                if attempt_ms >= left_ms:
                    raise

    # -- internals ---------------------------------------------------------------------------

    def _start_servers(self) -> None:
        options = (
            *REPLICATION_ARGUMENTS, "--min-replicas-to-write", str(self.min_replicas_to_write),
        )  # fmt: skip
        primary = ConfiguredServer(options=options, binary=self._binary)
        primary.start()
        self.servers.append(primary)
        replica_options = (*options, "--replicaof", LOOPBACK, str(primary.port))
        replicas = [
            ConfiguredServer(options=replica_options, binary=self._binary)
            for _ in range(self.replica_count)
        ]
        self.servers.extend(replicas)
        start_all(replicas)
        for replica in replicas:
            wait_for(
                functools.partial(in_sync, replica),
                timeout_ms=self.timeout_ms,
                what=f"{replica!r} in sync with the primary",
            )
        wait_for(
            lambda: takes_writes(primary, self.min_replicas_to_write),
            timeout_ms=self.timeout_ms,
            what="the primary counting its replicas (min-replicas-to-write)",
        )

    def _start_sentinels(self) -> None:
        primary = self.servers[0]
        name = self.service_name
        config = "\n".join([
            f"sentinel monitor {name} {LOOPBACK} {primary.port} {self.quorum}",
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}",
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {name} 1",
            "",
        ])  # fmt: skip
        self.sentinels = [
            ConfiguredServer(options=("--sentinel",), config=config, binary=self._binary)
            for _ in range(self.sentinel_count)
        ]
        start_all(self.sentinels)
        for sentinel in self.sentinels:
            wait_for(
                functools.partial(
                    sentinel_knows_all, sentinel, name, self.replica_count, self.sentinel_count
                ),
                timeout_ms=self.timeout_ms,
                what=f"{sentinel!r} knows every replica and sentinel",
            )

    def _ask_failover(self) -> bool:
        try:
            with self.sentinels[0].client() as client:
                client.execute_command("SENTINEL", "FAILOVER", self.service_name)
        except redis.exceptions.ResponseError as error:
            if str(error).startswith(_RETRIED_FAILOVER_ERRORS):
                return False
            raise TopologyError(f"SENTINEL FAILOVER {self.service_name}: {error}") from error
        return True

    def _agreed_primary(self, *, other_than: Address) -> Address | None:
        reported = {self._reported(sentinel) for sentinel in self.sentinels}
        new = reported.pop() if len(reported) == 1 else None
        if new is None or new == other_than or role(self._server(new)) != "master":
            return None
        return new

    def _reported(self, sentinel: ConfiguredServer) -> Address | None:
        with sentinel.client() as client:
            reply = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service_name)
        return None if not reply else (str(reply[0]), int(reply[1]))

    def _server(self, address: Address) -> ConfiguredServer:
        for server in self.servers:
            if server.address == tuple(address):
                return server
        raise TopologyError(f"{address} is not a server of {self!r}")
