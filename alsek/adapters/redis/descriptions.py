"""The three ways to reach Redis (one server, a Sentinel-managed primary, a Cluster): building
clients, describing them as plain values for child processes, and twins with other settings.

A description never holds a live object: ``{"kind": "redis" | "sentinel" | "cluster", ...}``
with connection settings of plain types (host, port, password, timeouts, TLS file names...).
Credential providers, SSL contexts and other objects do not travel; a child process rebuilds a
client from the rest. A *twin* is a client of the same topology with a few settings changed
(no decoding of replies, socket timeouts, RESP2 for pub/sub); it keeps every in-process object
of the original (retry policy, credential provider), and is only ever used in this process.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from alsek.adapters.redis import client as client_module
from alsek.adapters.redis.client import import_path, translated
from alsek.adapters.redis.urls import UrlSpec, invalid, parse, redact
from alsek.domain.model.errors import ValidationError

log = logging.getLogger("alsek.adapters.redis")

Client = redis.Redis | RedisCluster

#: Timeouts (seconds) given to clients that have none, so that a dead connection fails a call
#: instead of hanging a worker forever; a URL's own options override them.
DEFAULT_TIMEOUTS: dict[str, float] = {"socket_connect_timeout": 5.0, "socket_timeout": 30.0}

# Connection settings carried to child processes: plain values only, never sockets or objects.
_PORTABLE = {
    "host", "port", "db", "username", "password", "path", "socket_timeout",
    "socket_connect_timeout", "socket_keepalive", "client_name", "health_check_interval",
    "encoding", "encoding_errors", "decode_responses", "protocol", "retry_on_timeout", "ssl",
}  # fmt: skip
_ROUTING = ("host", "port", "path", "connection_pool")
# Settings a redis-py pool or cluster client adds to its connections' on its own (a new one adds
# its own), and a database number, which a cluster refuses (it has database 0 only).
_POOL_MADE = (
    "connection_pool", "maint_notifications", "orig_", "himport_registry", "redis_connect_func",
    "oss_cluster_maint_notifications",
)  # fmt: skip
_NOT_IN_CLUSTER = ("db",)


def kind_of(client: Any) -> str:
    """``"cluster"``, ``"sentinel"`` or ``"redis"``.

    Raises:
        ValidationError: for a Sentinel client of replicas (``slave_for``): alsek writes.
    """
    if isinstance(client, RedisCluster):
        return "cluster"
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        if not pool.is_master:
            raise ValidationError(
                "a Sentinel client of replicas cannot write: use Sentinel.master_for()"
            )
        return "sentinel"
    return "redis"


def connection_kwargs(client: Client) -> dict[str, Any]:
    """The settings every connection of ``client`` is made with (do not modify)."""
    if isinstance(client, RedisCluster):
        return dict(client.nodes_manager.connection_kwargs)
    return dict(client.connection_pool.connection_kwargs)


# -- from URLs -------------------------------------------------------------------------------


def client_from_url(url: str | None) -> Client:
    """A client (not yet connected) for ``url``, or for localhost:6379 when None.

    Raises:
        ValidationError: for a malformed URL (its password masked).
    """
    url = url or client_module.DEFAULT_URL
    spec = parse(url)
    kwargs = {**DEFAULT_TIMEOUTS, **spec.kwargs}
    with translated():
        try:
            return _client_from_spec(spec, kwargs)
        except (ValueError, TypeError) as error:
            raise invalid(url, error) from None


def _client_from_spec(spec: UrlSpec, kwargs: dict[str, Any]) -> Client:
    if spec.kind == "cluster":
        nodes = [ClusterNode(host, port) for host, port in spec.hosts]
        return RedisCluster(startup_nodes=nodes, **kwargs)
    kwargs.setdefault("retry", Retry(NoBackoff(), 1))
    if spec.kind == "sentinel":
        sentinel_kwargs = {**DEFAULT_TIMEOUTS, **spec.sentinel_kwargs}
        sentinel = Sentinel(list(spec.hosts), sentinel_kwargs=sentinel_kwargs)
        return sentinel.master_for(spec.service_name, **kwargs)
    cls = kwargs.pop("connection_class", redis.Connection)
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=cls, **kwargs))


# -- descriptions ----------------------------------------------------------------------------


def _portable(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in kwargs.items()
        if (name in _PORTABLE or name.startswith("ssl_"))
        and (value is None or isinstance(value, (str, int, float, bool)))
    }


def describe_client(client: Client) -> dict[str, Any]:
    """What a child process needs to build an equivalent client: plain values only."""
    kind = kind_of(client)
    if kind == "cluster":
        return _describe_cluster(client)  # type: ignore[arg-type]
    pool: Any = client.connection_pool  # type: ignore[union-attr]
    if kind == "sentinel":
        return _describe_sentinel(pool)
    return {
        "kind": "redis",
        "connection_class": class_path_of(pool.connection_class),
        "kwargs": _portable(pool.connection_kwargs),
    }


def _describe_cluster(client: RedisCluster) -> dict[str, Any]:
    """Every node known now (as startup nodes) and the nodes' connection settings."""
    kwargs = _portable(client.nodes_manager.connection_kwargs)
    return {
        "kind": "cluster",
        "startup_nodes": [[node.host, node.port] for node in client.get_nodes()],
        "kwargs": {k: v for k, v in kwargs.items() if k not in _NOT_IN_CLUSTER},
    }


def _describe_sentinel(pool: Any) -> dict[str, Any]:
    """The sentinels' addresses and settings, the service, and the primary's settings."""
    manager = pool.sentinel_manager
    sentinels = [s.connection_pool.connection_kwargs for s in manager.sentinels]
    first = sentinels[0] if sentinels else {}
    return {
        "kind": "sentinel",
        "service_name": pool.service_name,
        "sentinels": [[each["host"], each["port"]] for each in sentinels],
        "min_other_sentinels": manager.min_other_sentinels,
        "sentinel_kwargs": {k: v for k, v in _portable(first).items() if k not in _ROUTING},
        "connection_class": class_path_of(pool.connection_class),
        "kwargs": {k: v for k, v in _portable(pool.connection_kwargs).items() if k not in _ROUTING},
    }


def class_path_of(cls: type) -> str:
    """``module:QualName`` of the class ``cls``."""
    return f"{cls.__module__}:{cls.__qualname__}"


def client_from_description(description: dict[str, Any]) -> Client:
    """Rebuild a client from :func:`describe_client`'s output (no connection is made)."""
    kind = description.get("kind", "redis")
    kwargs = dict(description["kwargs"])
    if kind == "cluster":
        nodes = [ClusterNode(host, port) for host, port in description["startup_nodes"]]
        return RedisCluster(startup_nodes=nodes, **kwargs)
    cls = import_path(description["connection_class"])
    if kind == "sentinel":
        sentinel = Sentinel(
            [tuple(address) for address in description["sentinels"]],
            min_other_sentinels=description.get("min_other_sentinels", 0),
            sentinel_kwargs=description.get("sentinel_kwargs") or None,
        )
        return sentinel.master_for(description["service_name"], connection_class=cls, **kwargs)
    pool = redis.ConnectionPool(connection_class=cls, **kwargs)
    return redis.Redis(connection_pool=pool)


# -- twins -----------------------------------------------------------------------------------


def twin(client: Client, **overrides: Any) -> Client:
    """A client of ``client``'s topology and settings, with ``overrides`` (in-process only: it
    shares ``client``'s objects, e.g. its credential provider)."""
    if isinstance(client, RedisCluster):
        nodes = [ClusterNode(node.host, node.port) for node in client.get_nodes()]
        kwargs = {
            k: v
            for k, v in client.nodes_manager.connection_kwargs.items()
            if not k.startswith(_POOL_MADE) and k not in _NOT_IN_CLUSTER
        }
        return RedisCluster(startup_nodes=nodes, **{**kwargs, **overrides})
    pool = client.connection_pool
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if not k.startswith(_POOL_MADE)}
    kwargs.update(overrides)
    if isinstance(pool, SentinelConnectionPool):
        new: Any = SentinelConnectionPool(
            pool.service_name,
            pool.sentinel_manager,
            is_master=pool.is_master,
            check_connection=pool.check_connection,
            connection_class=pool.connection_class,
            **kwargs,
        )
    elif type(pool) in (redis.ConnectionPool, redis.BlockingConnectionPool):
        new = type(pool)(
            connection_class=pool.connection_class, max_connections=pool.max_connections, **kwargs
        )
    else:
        new = redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    return redis.Redis(connection_pool=new)


def usable(client: Client) -> Client:
    """``client``, or a twin when it decodes replies to text (stored bodies are bytes and may
    not be UTF-8) or has no socket timeouts (a dead connection would hang a worker forever:
    see :data:`DEFAULT_TIMEOUTS`)."""
    kwargs = connection_kwargs(client)
    overrides: dict[str, Any] = {
        name: value for name, value in DEFAULT_TIMEOUTS.items() if kwargs.get(name) is None
    }
    if kwargs.get("decode_responses"):
        overrides["decode_responses"] = False
    if not overrides:
        return client
    log.debug("Using a twin of the given Redis client with %s", overrides)
    return twin(client, **overrides)


def address_of(connection: Any) -> str:
    """A backend's ``connection`` for people: a URL with its password masked (None: the
    default URL), or what a client's settings say (no connection is made)."""
    if connection is None or isinstance(connection, str):
        return redact(connection or client_module.DEFAULT_URL)
    if isinstance(connection, RedisCluster):
        nodes = ",".join(
            f"{n.host}:{n.port}" for n in connection.nodes_manager.startup_nodes.values()
        )
        return f"redis+cluster://{nodes}"
    pool = getattr(connection, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    if not isinstance(kwargs, dict):
        return f"a {type(connection).__name__}"
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    service = getattr(pool, "service_name", None)
    if service:
        return f"redis+sentinel://.../{service}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def server_key(connection: Any) -> tuple[Any, ...] | None:
    """What identifies the server (and database) of a backend's ``connection``: equal for two
    URLs that name the same one (``redis://localhost`` and ``redis://localhost:6379/0``);
    None for a client given (not compared)."""
    if connection is not None and not isinstance(connection, str):
        return None
    spec = parse(connection or client_module.DEFAULT_URL)
    kw = spec.kwargs
    return (spec.kind, kw.get("path"), kw.get("host", "localhost"), kw.get("port", 6379),
            kw.get("db", 0), spec.hosts, spec.service_name)  # fmt: skip
