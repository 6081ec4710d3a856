"""What every part of the backend contract shares: hooks an adapter provides, helpers, bounds."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from alsek.domain.model.message import Message
from alsek.ports.backend import Backend
from alsek.ports.queue import Claim

LEASE = 1_000
TTL = 300
BOUND_S = 5.0  # the longest any test waits for something that should happen at once


def run_in_thread(target: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``target`` in a thread; return a function that joins it (bounded) and returns."""
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = target()
        except BaseException as error:  # pragma: no cover - reported by the joiner
            box["error"] = error

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()

    def join() -> Any:
        thread.join(BOUND_S)
        assert not thread.is_alive(), "the thread did not finish in time"
        if "error" in box:
            raise box["error"]
        return box["value"]

    return join


class ContractBase:
    """Hooks and helpers of the contract. Subclass :class:`BackendContract` instead."""

    # -- hooks ---------------------------------------------------------------------------------

    def write_raw(self, backend: Backend, name: str, raw: bytes) -> None:
        """Store ``raw`` under the short ``name`` as is, bypassing the serializer."""
        raise NotImplementedError("subclasses of BackendContract provide write_raw()")

    def make_sibling(self, backend: Backend, namespace: str) -> Backend:
        """A backend on the same store and clock as ``backend`` under ``namespace``."""
        sibling = copy.copy(backend)
        sibling.namespace = namespace
        return sibling

    def let_ttl_elapse(self, clock: Any, ms: int) -> None:
        """Make ``ms`` milliseconds of key TTL pass."""
        clock.advance(ms)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def make(clock: Any, task: str = "task", queue: str = "q", **fields: Any) -> Message:
        """A message created at the fake clock's now."""
        fields.setdefault("created_at", clock.now_ms())
        return Message(task, queue=queue, **fields)

    @staticmethod
    def claim(backend: Backend, *queues: str, limit: int = 100, lease_ms: int = LEASE) -> Claim:
        return backend.claim(list(queues or ("q",)), limit=limit, lease_ms=lease_ms)

    def uuids(self, backend: Backend, *queues: str, limit: int = 100) -> list[str]:
        return [m.uuid for m in self.claim(backend, *queues, limit=limit).messages]
