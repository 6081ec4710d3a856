"""RedisBackend keeps the backend contract (``tests/contract/backend_contract.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from alsek.adapters.redis import RedisBackend
from alsek.ports.backend import Backend
from tests.contract.backend_contract import BackendContract
from tests.contract.fakes import FakeClock


class TestRedisBackendContract(BackendContract):
    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def backend(
        self, make_redis_backend: Callable[..., RedisBackend], clock: FakeClock
    ) -> RedisBackend:
        return make_redis_backend(clock=clock)

    def write_raw(self, backend: Backend, name: str, raw: bytes) -> None:
        assert isinstance(backend, RedisBackend)
        backend.client.set(backend.full_name(name), raw)

    def make_sibling(self, backend: Backend, namespace: str) -> Backend:
        assert isinstance(backend, RedisBackend)
        return RedisBackend(backend.client, namespace=namespace, clock=backend.clock)

    def let_ttl_elapse(self, clock: Any, ms: int) -> None:
        # Key TTLs run on Redis' own clock (PX): let that much real time pass too. Redis
        # treats a key as expired as soon as its deadline is past, so this is exact.
        clock.advance(ms)
        time.sleep(ms / 1000 + 0.005)
