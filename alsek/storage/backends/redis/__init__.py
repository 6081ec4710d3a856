"""Tour import path for the Redis backend."""

from alsek.adapters.redis import LazyClient, RedisBackend

__all__ = ["LazyClient", "RedisBackend"]
