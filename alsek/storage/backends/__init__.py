"""Tour import path for backends."""

from alsek.adapters.memory import InMemoryBackend
from alsek.adapters.redis import LazyClient
from alsek.ports.async_backend import AsyncBackend
from alsek.ports.backend import Backend

__all__ = ["AsyncBackend", "Backend", "InMemoryBackend", "LazyClient"]
