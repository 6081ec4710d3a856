"""AsyncRedisBackend keeps the queue and key-value rules of the backend contract (the same
suite as RedisBackend's, run through a blocking view of each coroutine)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from alsek.adapters.redis import AsyncRedisBackend
from tests.contract.blocking import BlockingBackend
from tests.contract.fakes import FakeClock
from tests.contract.keyvalue_contract import KeyValueContract
from tests.contract.queue_admin_contract import AdminContract
from tests.contract.queue_claim_contract import ClaimContract
from tests.contract.queue_filter_contract import FilterContract
from tests.contract.queue_owner_contract import OwnerContract
from tests.contract.queue_settle_contract import SettleContract
from tests.contract.queue_wait_contract import WaitContract


class TestAsyncRedisBackendContract(
    ClaimContract,
    FilterContract,
    OwnerContract,
    SettleContract,
    AdminContract,
    WaitContract,
    KeyValueContract,
):
    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def backend(self, redis_url: str, redis_namespace: str, clock: FakeClock) -> Iterator[Any]:
        blocking = BlockingBackend(
            AsyncRedisBackend(redis_url, namespace=redis_namespace, clock=clock)
        )
        self._url = redis_url
        yield blocking
        blocking.stop()

    def write_raw(self, backend: Any, name: str, raw: bytes) -> None:
        client = redis.Redis.from_url(self._url)
        client.set(backend.full_name(name), raw)
        client.close()

    def make_sibling(self, backend: Any, namespace: str) -> Any:
        sibling = AsyncRedisBackend(self._url, namespace=namespace, clock=backend.clock)
        return BlockingBackend(sibling, backend._loop)

    def let_ttl_elapse(self, clock: Any, ms: int) -> None:
        clock.advance(ms)
        time.sleep(ms / 1000 + 0.005)

    def test_repair_indexes_stored_bodies_that_no_index_holds(self) -> None:
        pytest.skip("repair is a worker's start-up scan: the asyncio backend has none")
