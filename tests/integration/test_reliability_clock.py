"""Leases and due times on Redis' clock (issue 12): workers whose clocks disagree by a minute
never take each other's messages early, and a delay lasts as long as it says.

Each test plays two workers in one process by skewing the wall clock (``time.time_ns``, which
the system clock and new messages read) by +60 s or -60 s around each call. Before, leases and
due times were computed on each worker's clock: a worker 60 s ahead saw every lease of a worker
60 s behind as expired, and a delay set by one was off by two minutes for the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from alsek.adapters.redis import RedisBackend
from alsek.domain.model.message import Message

SKEW_NS = 60 * 10**9
BOUND_S = 15.0
_real_time_ns = time.time_ns


@pytest.fixture
def skew(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], None]]:
    """``skew(+1)`` or ``skew(-1)``: this process's wall clock runs 60 s ahead or behind."""
    offset = {"ns": 0}
    monkeypatch.setattr(time, "time_ns", lambda: _real_time_ns() + offset["ns"])

    def set_skew(sign: int) -> None:
        offset["ns"] = sign * SKEW_NS

    yield set_skew


@pytest.fixture
def workers(make_redis_backend: Callable[..., RedisBackend]) -> tuple[RedisBackend, RedisBackend]:
    """Two backends on the system clock, as two worker machines would have."""
    return make_redis_backend(), make_redis_backend()


def test_a_worker_ahead_never_takes_a_lease_of_a_worker_behind(workers, skew):
    behind, ahead = workers
    skew(-1)
    behind.submit(Message("t", queue="q"))
    [held] = behind.claim(["q"], limit=1, lease_ms=5_000).messages
    skew(+1)
    assert ahead.claim(["q"], limit=1, lease_ms=5_000).messages == [], "taken 2 minutes early"
    skew(-1)
    assert behind.extend([held], lease_ms=5_000) == []
    skew(+1)
    assert ahead.claim(["q"], limit=1, lease_ms=5_000).messages == []
    skew(-1)
    assert behind.ack(held) is True


@pytest.mark.parametrize(("submitter", "worker"), [(+1, -1), (-1, +1)])
def test_a_delay_lasts_as_long_as_it_says_whoever_submitted_it(
    workers, skew, submitter: int, worker: int
):
    first, second = workers
    skew(submitter)
    message = Message("t", queue="q", delay=2_000)
    first.submit(message)
    submitted = _real_time_ns()
    skew(worker)
    assert second.claim(["q"], limit=1, lease_ms=5_000).messages == [], "claimed before its delay"
    deadline = time.monotonic() + BOUND_S
    claimed: list[Message] = []
    while not claimed and time.monotonic() < deadline:
        claimed = second.claim(["q"], limit=1, lease_ms=5_000).messages
        if not claimed:
            time.sleep(0.05)
    waited_s = (_real_time_ns() - submitted) / 1e9
    assert [m.uuid for m in claimed] == [message.uuid], f"not delivered within {BOUND_S} s"
    assert waited_s >= 1.9, f"delivered after {waited_s:.2f} s of a 2 s delay"


def test_a_skewed_clock_earns_a_warning_not_a_refusal(workers, skew):
    skew(+1)
    [warning] = workers[0].check_health(["q"], lease_ms=5_000)
    assert "off Redis'" in warning and "+6" in warning
