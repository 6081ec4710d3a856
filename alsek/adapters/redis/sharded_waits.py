"""How a consumer waits for work on a Redis Cluster, where BLPOP takes keys of one slot only."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from alsek.adapters.redis.calls import CallBuilder
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.scripts import Call
from alsek.adapters.redis.session import RedisSession
from alsek.ports.queue import Claim

#: Longest a consumer of several queues blocks on its first queue before it looks at the others.
WAIT_SLICE_S = 0.05


class ShardedWaits:
    """The waiting side of :class:`~alsek.adapters.redis.sharded.ShardedQueue`: polls and
    blocking waits, one slot at a time."""

    _session: RedisSession
    _keys: KeyLayout
    _call: Callable[[], Call]
    calls: CallBuilder
    claim: Callable[..., Claim]  # ShardedQueue.claim

    def poll(self, queues: Sequence[str]) -> bool:
        """Whether a claim would find work in any of ``queues`` (one call per queue)."""
        calls = [self.calls.poll(self._call(), [queue]) for queue in dict.fromkeys(queues)]
        return any(self._session.run_many("poll", calls))

    def wait_for_work(
        self,
        queues: Sequence[str],
        deadline: float,
        blpop_timeout: Callable[[float], float],
        tasks: Sequence[str] = (),
    ) -> bool:
        """Whether work came before ``deadline`` (monotonic seconds): BLPOP takes keys of one
        slot, so wait on the first queue's wake-ups (and its task signals, with ``tasks``), in
        slices when there are others. With ``tasks`` other tasks' ready messages are no work, so
        nothing is polled."""
        signals = self._signals(queues[0], tasks)
        while True:
            if not tasks and self.poll(queues):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait_s = blpop_timeout(min(remaining, WAIT_SLICE_S) if len(queues) > 1 else remaining)
            if self._session.client.blpop(signals, timeout=wait_s):
                return True

    def wait_and_claim(
        self,
        queues: list[str],
        deadline: float,
        limit: int,
        lease_ms: int,
        token: str,
        blpop_timeout: Callable[[float], float],
        tasks: Sequence[str] = (),
    ) -> Claim:
        """Several queues: claim from all, block on the first one's wake-ups for a slice,
        again, until work comes or ``deadline`` (monotonic seconds) passes."""
        signals = self._signals(queues[0], tasks)
        while True:
            claim = self.claim(queues, limit, lease_ms, token, tasks)
            if claim.messages or claim.corrupt or time.monotonic() >= deadline:
                return claim
            wait_s = blpop_timeout(min(deadline - time.monotonic(), WAIT_SLICE_S))
            self._session.client.blpop(signals, timeout=wait_s)

    def _signals(self, queue: str, tasks: Sequence[str]) -> list[str]:
        """The wake-up list of ``queue`` and, with ``tasks``, its task signals (one slot)."""
        signal = self._keys.queue(queue).signal
        return [signal, *(f"{signal}:{task}" for task in tasks)]
