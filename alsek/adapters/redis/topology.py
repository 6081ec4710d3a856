"""What the local multi-server topologies share: configured server processes and bounded waits.

:class:`~alsek.adapters.redis.local_cluster.LocalCluster` and
:class:`~alsek.adapters.redis.local_sentinel.LocalSentinel` start several ``redis-server``
processes on 127.0.0.1 (the binary :func:`find_redis_server` finds, like :class:`RedisServer`)
and wait, always within a bound, until the processes reach the state asked for: a formed
cluster, replicas in sync, sentinels that agree. Polling with short sleeps is the only way to
watch another process reach a state; every poll gives up with a :class:`TopologyError` naming
what was awaited and what was seen last.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import redis

from alsek.adapters.redis.server import RedisServer, RedisServerError

T = TypeVar("T")
S = TypeVar("S", bound=RedisServer)

Address = tuple[str, int]
LOOPBACK = "127.0.0.1"

# Replicas sync over the socket at once: no RDB file, no delay (7.0 waits 5 s by default).
REPLICATION_ARGUMENTS = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
_START_ATTEMPTS = 3
_POLL_MAX_S = 0.1


class TopologyError(RedisServerError):
    """Raised when a local cluster or sentinel set cannot start or does not reach a state in
    time."""


class ConfiguredServer(RedisServer):
    """A :class:`RedisServer` with more command-line options and, optionally, a config file.

    Args:
        port: as for :class:`RedisServer`.
        options: appended to the command line (e.g. ``("--cluster-enabled", "yes")``).
        config: text of a config file written into the data directory and given first on the
            command line (Sentinel needs a file it can rewrite).
        **kwargs: as for :class:`RedisServer`.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        options: Sequence[str] = (),
        config: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(port, **kwargs)
        self.options = tuple(options)
        self.config = config

    @property
    def address(self) -> Address:
        """``(host, port)`` on the loopback interface.

        Raises:
            RedisServerError: before the first start.
        """
        if self.port is None:
            raise RedisServerError("the server has no port yet: start() it first")
        return (LOOPBACK, self.port)

    def client(self, **kwargs: Any) -> redis.Redis:
        """A plain client of this process (text replies, 5 s socket timeout by default)."""
        settings = {"decode_responses": True, "socket_timeout": 5.0, **kwargs}
        return redis.Redis(host=LOOPBACK, port=self.address[1], **settings)

    def _arguments(self) -> list[str]:
        arguments = [*super()._arguments(), *self.options]
        if self.config is None:
            return arguments
        assert self.data_dir is not None  # start() made it before spawning
        path = self.data_dir / "server.conf"
        path.write_text(self.config, encoding="utf-8")
        return [str(path), *arguments]


def start_all(servers: Sequence[RedisServer]) -> None:
    """Start ``servers`` one after the other; on a failure stop those started and re-raise."""
    try:
        for server in servers:
            server.start()
    except BaseException:
        stop_all(servers)
        raise


def stop_all(servers: Sequence[RedisServer]) -> None:
    """Stop ``servers`` and remove their temporary directories (idempotent)."""
    for server in servers:
        server.stop()


def start_with_port_pair(make: Callable[[int], S]) -> S:
    """Start ``make(port)`` on a free port whose cluster bus port (port + 10000) is free too.

    Redis 6.2 has no ``cluster-port`` option: its bus listens on port + 10000, so both must be
    free and the port at most 55535. Another process may take a port between the check and the
    start: a fresh pair is tried then, up to three times.
    """
    for attempt in range(_START_ATTEMPTS):
        server = make(_free_port_pair())
        try:
            server.start()
            return server
        except RedisServerError:
            if attempt == _START_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _free_port_pair() -> int:
    for _ in range(1000):
        port = random.randrange(20_000, 55_535)  # noqa: S311 - not for security
        if _bindable(port) and _bindable(port + 10_000):
            return port
    raise TopologyError("found no free port pair (p, p + 10000) on 127.0.0.1")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def wait_for(condition: Callable[[], T | None], *, timeout_ms: int, what: str) -> T:
    """Poll ``condition`` until it returns something other than None or False.

    A Redis error raised by ``condition`` (a server that restarts or changes its role) counts as
    "not yet". Sleeps grow from 5 ms to 100 ms between polls.

    Args:
        condition: returns the awaited value, or None/False while not there yet.
        timeout_ms: how long to wait in total.
        what: what is awaited, for the error message.

    Raises:
        TopologyError: when ``timeout_ms`` passes first (with the last value or error seen).
    """
    deadline = time.monotonic() + timeout_ms / 1000
    delay, last = 0.005, "nothing"
    while True:
        try:
            result = condition()
            if result is not None and result is not False:
                return result
            last = repr(result)
        except redis.exceptions.RedisError as error:
            last = f"{type(error).__name__}: {error}"
        if time.monotonic() >= deadline:
            raise TopologyError(f"{what}: not reached within {timeout_ms} ms (last: {last})")
        time.sleep(delay)
        delay = min(delay * 2, _POLL_MAX_S)


def info(server: ConfiguredServer, section: str) -> dict[str, Any]:
    """``INFO <section>`` of ``server`` (a fresh connection each time: roles change)."""
    with server.client() as client:
        return dict(client.info(section))


def role(server: ConfiguredServer) -> str:
    """``master``, ``slave`` or ``sentinel``: the first field of ``ROLE``."""
    with server.client() as client:
        return str(client.execute_command("ROLE")[0])


def in_sync(server: ConfiguredServer) -> bool:
    """Whether ``server`` is a replica whose link to its primary is up, with no sync running."""
    replication = info(server, "replication")
    return (
        replication.get("role") == "slave"
        and replication.get("master_link_status") == "up"
        and not replication.get("master_sync_in_progress")
    )


def demote(server: ConfiguredServer, primary: Address) -> None:
    """What Sentinel sends a primary that lost its role (``sentinelSendSlaveOf``): replicate
    ``primary`` and disconnect every client (they reconnect and ask where the primary is)."""
    with server.client() as client:
        pipe = client.pipeline(transaction=True)
        pipe.execute_command("REPLICAOF", *primary)
        pipe.execute_command("CLIENT", "KILL", "TYPE", "normal")
        pipe.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        pipe.execute()


def takes_writes(server: ConfiguredServer, min_replicas_to_write: int) -> bool:
    """Whether a primary counts enough good replicas to take writes."""
    if not min_replicas_to_write:
        return True
    good = int(info(server, "replication").get("min_slaves_good_slaves", 0))
    return good >= min_replicas_to_write


def replicates(server: ConfiguredServer, primary: Address, min_replicas_to_write: int) -> bool:
    """Whether ``server`` is ``primary`` taking writes, or an in-sync replica of it."""
    if server.address == primary:
        return takes_writes(server, min_replicas_to_write)
    replication = info(server, "replication")
    source = (replication.get("master_host"), replication.get("master_port"))
    return in_sync(server) and source == primary


def sentinel_knows_all(
    sentinel: ConfiguredServer, name: str, replicas: int, sentinels: int
) -> bool:
    """Whether ``sentinel`` monitors ``name`` as ok and knows every replica and sentinel."""
    # INFO sentinel: "master0:name=alsek,status=ok,address=...,slaves=1,sentinels=3"
    state = info(sentinel, "sentinel").get("master0", {})
    return (
        state.get("name") == name
        and state.get("status") == "ok"
        and int(state.get("slaves", 0)) == replicas
        and int(state.get("sentinels", 0)) == sentinels
    )


def log_tails(servers: Sequence[RedisServer], lines: int = 8) -> str:
    """The last ``lines`` lines of every server's log, for error messages."""
    parts = []
    for server in servers:
        log = server.log_path
        if log is not None and Path(log).exists():
            tail = Path(log).read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {server!r}\n" + "\n".join(tail))
    return "\n".join(parts)
