"""RedisBackend on a Redis Cluster (3 primaries, 1 replica each) keeps the whole backend contract
(``tests/contract/backend_contract.py``): every script touches one slot, effects of other slots
are a separate step, claims go queue by queue and scans cover every primary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from alsek.adapters.redis import LocalCluster, RedisBackend
from tests.contract.fakes import FakeClock
from tests.integration import test_redis_contract


class TestRedisClusterBackendContract(test_redis_contract.TestRedisBackendContract):
    @pytest.fixture
    def backend(
        self, local_cluster: LocalCluster, redis_namespace: str, clock: FakeClock
    ) -> Iterator[RedisBackend]:
        backend = RedisBackend(local_cluster.url, namespace=redis_namespace, clock=clock)
        assert backend._session.cluster
        yield backend
        backend.clear_namespace()
        backend.close()
