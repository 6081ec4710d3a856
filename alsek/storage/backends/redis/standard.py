"""Tour import path for the Redis backend (``alsek.storage.backends.redis.standard``)."""

from alsek.app.redis_backend import RedisBackend

__all__ = ["RedisBackend"]
