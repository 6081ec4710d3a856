"""Alsek 1.3.2's import path of the backend base classes (``BaseBackend``: ours is ``Backend``)."""

from alsek.adapters.redis import LazyClient
from alsek.ports.backend import Backend
from alsek.ports.backend import Backend as BaseBackend

__all__ = ["Backend", "BaseBackend", "LazyClient"]
