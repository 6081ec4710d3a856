"""Tour import path for the Redis backend."""

from alsek.adapters.redis import LazyClient
from alsek.app.redis_backend import RedisBackend

__all__ = ["LazyClient", "RedisBackend"]
