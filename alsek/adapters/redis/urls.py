"""Redis URLs: one server, a Sentinel-managed primary or a Cluster, parsed without connecting.

* ``redis://[[user]:password@]host[:port][/db][?option=value...]`` (``rediss://`` for TLS,
  ``unix:///path/to.sock``): one server, as redis-py reads it.
* ``redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db][?...]``
  (``rediss+sentinel://``): the primary of ``service``, asked of the sentinels listed (port
  26379 by default). The user and password are the primary's; ``sentinel_username`` and
  ``sentinel_password`` options authenticate with the sentinels.
* ``redis+cluster://[[user]:password@]host[:port][,host[:port]...][/][?...]``
  (``rediss+cluster://``): a Redis Cluster found from any of the nodes listed (port 6379 by
  default).

Errors never show a password: :func:`redact` masks it in every message about a URL.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import redis
from attrs import frozen

from alsek.domain.model.errors import ValidationError

SENTINEL_SCHEMES = {"redis+sentinel": "redis", "rediss+sentinel": "rediss"}
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
_DEFAULT_PORTS = {"sentinel": 26379, "cluster": 6379}
_SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")
_SECRET_OPTIONS = {"password", "sentinel_password"}
_HOST = re.compile(r"^(?:\[(?P<ipv6>[^\]]+)\]|(?P<name>[^:\[\]]+))(?::(?P<port>\d+))?$")

Address = tuple[str, int]


@frozen
class UrlSpec:
    """What a URL asks for.

    Attributes:
        kind: ``"redis"`` (one server), ``"sentinel"`` or ``"cluster"``.
        kwargs: connection settings of the data servers (redis-py names).
        hosts: the sentinels or the cluster's startup nodes (empty for one server).
        service_name: the Sentinel service (``""`` otherwise).
        sentinel_kwargs: connection settings of the sentinels themselves.
    """

    kind: str
    kwargs: dict[str, Any]
    hosts: tuple[Address, ...] = ()
    service_name: str = ""
    sentinel_kwargs: dict[str, Any] = {}


def redact(url: str) -> str:
    """``url`` with its password (and any password option) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    user_info, at, hosts = netloc.rpartition("@")
    if at and ":" in user_info:
        netloc = f"{user_info.partition(':')[0]}:***@{hosts}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k in _SECRET_OPTIONS else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def invalid(url: str, problem: object) -> ValidationError:
    """The error for a URL that cannot be used (its password masked)."""
    return ValidationError(f"invalid Redis URL {redact(url)!r}: {problem}")


def parse(url: str) -> UrlSpec:
    """What ``url`` asks for (parsing only: nothing connects).

    Raises:
        ValidationError: naming the problem, the password masked.
    """
    if not isinstance(url, str):
        raise ValidationError(f"a Redis URL must be a string, got {type(url).__name__}")
    scheme = url.partition("://")[0].lower()
    try:
        if scheme in SENTINEL_SCHEMES:
            return _parse_sentinel(url, SENTINEL_SCHEMES[scheme])
        if scheme in CLUSTER_SCHEMES:
            return _parse_cluster(url, CLUSTER_SCHEMES[scheme])
        return UrlSpec("redis", redis.connection.parse_url(url))
    except ValidationError:
        raise
    except ValueError as error:
        raise invalid(url, error) from None


def _parse_sentinel(url: str, plain_scheme: str) -> UrlSpec:
    parts = urlsplit(url)
    user_info, hosts = _split_netloc(url, parts.netloc)
    service, _, db = parts.path.strip("/").partition("/")
    if not service:
        raise invalid(url, "name the Sentinel service: redis+sentinel://host:26379/<service>")
    options = parse_qsl(parts.query, keep_blank_values=True)
    sentinel = {name: value for name, value in options if name in _SENTINEL_OPTIONS}
    rest = [(name, value) for name, value in options if name not in _SENTINEL_OPTIONS]
    kwargs = _server_kwargs(plain_scheme, user_info, db, rest)
    sentinel_kwargs = {
        name.removeprefix("sentinel_"): value for name, value in sentinel.items() if value
    }
    for name in ("socket_timeout", "socket_connect_timeout"):
        if name in kwargs:
            sentinel_kwargs.setdefault(name, kwargs[name])
    return UrlSpec(
        "sentinel",
        kwargs,
        _hosts(url, hosts, _DEFAULT_PORTS["sentinel"]),
        unquote(service),
        sentinel_kwargs,
    )


def _parse_cluster(url: str, plain_scheme: str) -> UrlSpec:
    parts = urlsplit(url)
    user_info, hosts = _split_netloc(url, parts.netloc)
    if parts.path.strip("/") not in ("", "0"):
        raise invalid(url, "a Redis Cluster has database 0 only")
    rest = parse_qsl(parts.query, keep_blank_values=True)
    kwargs = _server_kwargs(plain_scheme, user_info, "", rest)
    kwargs.pop("db", None)
    if kwargs.pop("connection_class", None) is not None:
        kwargs["ssl"] = True  # RedisCluster takes TLS as an option, not a connection class
    return UrlSpec("cluster", kwargs, _hosts(url, hosts, _DEFAULT_PORTS["cluster"]))


def _split_netloc(url: str, netloc: str) -> tuple[str, str]:
    user_info, _, hosts = netloc.rpartition("@")
    if not hosts:
        raise invalid(url, "no host given")
    return user_info, hosts


def _server_kwargs(
    scheme: str, user_info: str, db: str, options: list[tuple[str, str]]
) -> dict[str, Any]:
    """The data servers' settings, read by redis-py's own URL parser (one vocabulary)."""
    query = urlencode(options)
    path = f"/{db}" if db else ""
    at = f"{user_info}@" if user_info else ""
    kwargs = redis.connection.parse_url(f"{scheme}://{at}localhost{path}?{query}")
    kwargs.pop("host", None)
    kwargs.pop("port", None)
    return kwargs


def _hosts(url: str, text: str, default_port: int) -> tuple[Address, ...]:
    hosts = []
    for item in text.split(","):
        match = _HOST.match(item.strip())
        if match is None:
            raise invalid(url, f"not a host[:port]: {item!r}")
        host = match["ipv6"] or unquote(match["name"])
        hosts.append((host, int(match["port"]) if match["port"] else default_port))
    return tuple(hosts)
