"""Alsek 1.3.2's import path of ``LazyClient``."""

from alsek.adapters.redis import LazyClient

__all__ = ["LazyClient"]
