"""The Redis adapter: :class:`RedisBackend` (one server, a Sentinel-managed primary or a Redis
Cluster), :class:`LazyClient` and, for development and tests, :class:`RedisServer` (a local
``redis-server`` process), :class:`LocalCluster` and :class:`LocalSentinel` (local Redis Cluster
and Sentinel topologies).

Example:
    >>> from alsek.adapters.redis import LazyClient, RedisBackend
    >>> from redis import Redis
    >>> backend = RedisBackend(LazyClient(lambda: Redis()))  # connects on first use
    >>> sentinel = RedisBackend("redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster")
    >>> cluster = RedisBackend("redis+cluster://10.0.0.1:7000,10.0.0.2:7000")
"""

from alsek.adapters.redis.aio_backend import AsyncRedisBackend
from alsek.adapters.redis.backend import RedisBackend
from alsek.adapters.redis.client import LazyClient
from alsek.adapters.redis.local_cluster import LocalCluster
from alsek.adapters.redis.local_sentinel import LocalSentinel
from alsek.adapters.redis.server import RedisServer

__all__ = [
    "AsyncRedisBackend",
    "LazyClient",
    "LocalCluster",
    "LocalSentinel",
    "RedisBackend",
    "RedisServer",
]
