"""InMemoryBackend: the backend contract, plus what only the in-memory adapter promises."""

from __future__ import annotations

import pytest

from alsek.adapters.memory import InMemoryBackend
from alsek.ports.backend import Backend
from tests.contract.backend_contract import BackendContract
from tests.contract.fakes import FakeClock


class TestInMemoryBackendContract(BackendContract):
    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def backend(self, clock: FakeClock):
        backend = InMemoryBackend(clock=clock)
        yield backend
        backend.close()

    def write_raw(self, backend: Backend, name: str, raw: bytes) -> None:
        assert isinstance(backend, InMemoryBackend)
        backend.store.values.put(backend.full_name(name), raw)

    def make_sibling(self, backend: Backend, namespace: str) -> Backend:
        assert isinstance(backend, InMemoryBackend)
        return InMemoryBackend(namespace, clock=backend.clock, store=backend.store)
