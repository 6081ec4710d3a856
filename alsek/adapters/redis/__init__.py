"""The Redis adapter: :class:`RedisBackend`, :class:`LazyClient` and, for development and tests,
:class:`RedisServer` (a local ``redis-server`` process), :class:`LocalCluster` and
:class:`LocalSentinel` (local Redis Cluster and Sentinel topologies).

Example:
    >>> from alsek.adapters.redis import LazyClient, RedisBackend
    >>> from redis import Redis
    >>> backend = RedisBackend(LazyClient(lambda: Redis()))  # connects on first use
"""

from alsek.adapters.redis.backend import RedisBackend
from alsek.adapters.redis.client import LazyClient
from alsek.adapters.redis.local_cluster import LocalCluster
from alsek.adapters.redis.local_sentinel import LocalSentinel
from alsek.adapters.redis.server import RedisServer

__all__ = ["LazyClient", "LocalCluster", "LocalSentinel", "RedisBackend", "RedisServer"]
