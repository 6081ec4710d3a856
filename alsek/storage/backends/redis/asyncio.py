"""Alsek 1.3.2's import path of the asyncio Redis backend (``RedisAsyncBackend`` there)."""

from alsek.adapters.redis.aio_backend import AsyncRedisBackend
from alsek.adapters.redis.aio_backend import AsyncRedisBackend as RedisAsyncBackend

__all__ = ["AsyncRedisBackend", "RedisAsyncBackend"]
