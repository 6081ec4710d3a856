"""Tour import path for result storage (and the asyncio result store)."""

from alsek.domain.services.result_async import AsyncResultStore
from alsek.domain.services.result_store import ResultStore

__all__ = ["AsyncResultStore", "ResultStore"]
