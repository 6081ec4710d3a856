"""Reliability measurements (issue 15): ``python -m bench.reliability [--due N] [--calls N]``.

1. **Due backlog**: ``N`` (default 1,000,000) delayed messages that are all due, then one
   ``claim(limit=10)``: its latency, and the latency of PINGs another client sends every
   millisecond meanwhile (what a long script costs everyone else on the server). Then claims
   are repeated until the backlog is ready, counting calls.
2. **Script cost per call**: Redis' own ``usec_per_call`` of EVALSHA (INFO commandstats)
   for each hot-path operation, ``--calls`` times each: submit, claim of 1, ack, a batched
   ``ack_many_and_claim`` (10 acks + claim of 10) and ``extend`` of 10 leases.

Nothing here is a test. The machine may be shared: numbers move from run to run.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import threading
import time
from typing import Any

import redis

from alsek.adapters.redis import RedisBackend
from alsek.adapters.redis.server import RedisServer
from alsek.domain.model.effects import NO_EFFECTS
from alsek.domain.model.message import Message


class _Frozen:
    """A clock stopped at one instant (so that every message filled is delayed)."""

    def __init__(self, now_ms: int) -> None:
        self._now = now_ms

    def now_ms(self) -> int:
        return self._now


def _pinger(url: str, stop: threading.Event, out: list[float]) -> None:
    client = redis.Redis.from_url(url, socket_timeout=120)
    while not stop.is_set():
        start = time.perf_counter()
        with contextlib.suppress(redis.exceptions.RedisError):  # BUSY past the script limit
            client.ping()
        out.append((time.perf_counter() - start) * 1000)
        time.sleep(0.001)
    client.close()


def due_backlog(url: str, n: int) -> dict[str, Any]:
    """Fill ``n`` due delayed messages, then time a claim and other clients' PINGs."""
    t0 = int(time.time() * 1000)
    filler = RedisBackend(url, namespace="due", clock=_Frozen(t0))
    batch = 5_000
    started = time.monotonic()
    for first in range(0, n, batch):
        size = min(batch, n - first)
        messages = [Message("t", queue="q", created_at=t0, delay=1_000) for _ in range(size)]
        filler.submit_many([(m, NO_EFFECTS) for m in messages])
    fill_s = time.monotonic() - started
    while time.time() * 1000 < t0 + 1_100:
        time.sleep(0.05)
    backend = RedisBackend(redis.Redis.from_url(url, socket_timeout=120), namespace="due")
    backend.depth("q")  # connect and load the scripts first
    pings: list[float] = []
    stop = threading.Event()
    thread = threading.Thread(target=_pinger, args=(url, stop, pings), daemon=True)
    thread.start()
    time.sleep(0.2)
    baseline = len(pings)
    start = time.perf_counter()
    backend.claim(["q"], limit=10, lease_ms=600_000)
    claim_ms = [(time.perf_counter() - start) * 1000]
    probe = redis.Redis.from_url(url)
    drain = time.perf_counter()
    while probe.zcard("due:idx:{q}:delayed") > 0 and len(claim_ms) < 100_000:
        start = time.perf_counter()
        backend.claim(["q"], limit=10, lease_ms=600_000)
        claim_ms.append((time.perf_counter() - start) * 1000)
    drain_s = time.perf_counter() - drain
    probe.close()
    time.sleep(0.2)
    during = pings[baseline:]
    stop.set()
    thread.join()
    filler.close()
    backend.close()
    ordered = sorted(claim_ms)
    return {
        "due": n,
        "fill_s": round(fill_s, 1),
        "first_claim_ms": round(claim_ms[0], 2),
        "claims_until_no_delayed": len(claim_ms),
        "claim_p50_ms": round(statistics.median(ordered), 3),
        "claim_max_ms": round(ordered[-1], 2),
        "seconds_until_no_delayed": round(drain_s, 2),
        "pings": len(during),
        "ping_p50_ms": round(statistics.median(during), 3),
        "ping_p99_ms": round(ordered_pct(during, 0.99), 3),
        "ping_max_ms": round(max(during), 2),
    }


def ordered_pct(values: list[float], pct: float) -> float:
    """The ``pct`` quantile of ``values``."""
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * pct), len(ordered) - 1)]


def _evalsha_usec(client: redis.Redis) -> tuple[int, int]:
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


def script_costs(url: str, calls: int, rounds: int = 5) -> dict[str, float]:
    """Redis-side microseconds per EVALSHA for each hot-path operation: the best of ``rounds``
    rounds of ``calls`` calls (the machine may be shared: the minimum is the least disturbed)."""
    client = redis.Redis.from_url(url)
    costs: dict[str, float] = {}

    def measure(name: str, work: Any) -> None:
        before = _evalsha_usec(client)
        work()
        after = _evalsha_usec(client)
        cost = round((after[1] - before[1]) / max(after[0] - before[0], 1), 2)
        costs[name] = min(costs.get(name, cost), cost)

    for _ in range(rounds):
        client.flushall()
        backend = RedisBackend(url, namespace="cost")
        backend.depth("q")
        messages = [Message("t", queue="q") for _ in range(calls)]
        measure("submit", lambda: [backend.submit(m) for m in messages])  # noqa: B023
        claimed: list[Message] = []
        measure("claim(1)", lambda: [claimed.extend(backend.claim(["q"], limit=1, lease_ms=600_000).messages) for _ in range(calls)])  # noqa: B023  # fmt: skip
        measure("ack", lambda: [backend.ack(m) for m in claimed])  # noqa: B023
        backend.submit_many([(Message("t", queue="q"), NO_EFFECTS) for _ in range(calls + 20)])
        held = backend.claim(["q"], limit=10, lease_ms=600_000).messages

        def batches() -> None:
            nonlocal held
            for _ in range(calls // 10 - 1):
                held = backend.ack_many_and_claim(  # noqa: B023
                    [(m, NO_EFFECTS) for m in held], queues=["q"], limit=10, lease_ms=600_000
                ).messages

        measure("ack 10 + claim 10", batches)
        measure("extend(10)", lambda: [backend.extend(held, lease_ms=600_000) for _ in range(calls // 10)])  # noqa: B023  # fmt: skip
        backend.close()
    client.close()
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability")
    parser.add_argument("--due", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--skip-due", action="store_true")
    parser.add_argument("--url", help="a server to use (flushed!), e.g. to compare versions on one")
    args = parser.parse_args()
    if args.url:
        print("script cost (usec per EVALSHA):", script_costs(args.url, args.calls), flush=True)
        return
    with RedisServer() as server:
        print("script cost (usec per EVALSHA):", script_costs(server.url, args.calls), flush=True)
        if not args.skip_due:
            print("due backlog:", due_backlog(server.url, args.due), flush=True)


if __name__ == "__main__":
    main()
