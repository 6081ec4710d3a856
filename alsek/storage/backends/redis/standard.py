"""Tour import path for the Redis backend (``alsek.storage.backends.redis.standard``)."""

from alsek.adapters.redis import RedisBackend

__all__ = ["RedisBackend"]
