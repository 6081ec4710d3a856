"""Admin operations on a big queue: ``python -m bench.admin [--messages N] [--dead D]`` (part
of ``make bench``). Section ``admin`` of ``bench/RESULTS.md``.

On an embedded redis-server: N ready messages and D dead letters in one queue, then the cost of
each admin operation (client wall time; each of the atomic ones is one script call), the
longest single purge step (how long Redis is busy at a time) and the peak Python memory of a
full dead letter scan and of the purge (tracemalloc): bounded, not proportional to the queue.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from alsek.adapters.redis import RedisBackend, RedisServer
from alsek.app.services import admin
from alsek.app.services.inspection import queue_stats
from alsek.domain.model.dead_letters import DeadLetterFilter
from alsek.domain.model.effects import NO_EFFECTS
from alsek.domain.model.message import Message
from alsek.ports.admin import PURGE_BATCH
from bench import results_md


def _ms(fn: Callable[[], Any], rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def _peak_kib(fn: Callable[[], Any]) -> tuple[Any, float]:
    tracemalloc.start()
    try:
        value = fn()
        return value, tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def _fill(backend: RedisBackend, messages: int, dead: int) -> list[Message]:
    batch = [(Message("t", queue="big", args=(i,)), NO_EFFECTS) for i in range(messages + dead)]
    for start in range(0, len(batch), 5_000):
        backend.submit_many(batch[start : start + 5_000])
    failed: list[Message] = []
    while len(failed) < dead:
        claim = backend.claim(["big"], limit=min(1_000, dead - len(failed)), lease_ms=60_000)
        for message in claim.messages:
            backend.fail(message, dlq_ttl=3_600_000)
        failed += claim.messages
    return failed


def measure(messages: int, dead: int) -> dict[str, Any]:
    """Every figure of the section, on a fresh embedded server."""
    with RedisServer() as server:
        backend = RedisBackend(server.url, namespace="bench")
        began = time.perf_counter()
        failed = _fill(backend, messages, dead)
        fill_s = time.perf_counter() - began
        ready = backend.claim(["big"], limit=1, lease_ms=1)  # one to look up
        backend.release(ready.messages)
        uuid = ready.messages[0].uuid
        row: dict[str, Any] = {"messages": messages, "dead": dead, "fill_s": fill_s}
        row["queue_counts_ms"] = _ms(lambda: backend.queue_counts("big"))
        row["count_dead_ms"] = _ms(lambda: backend.count_dead_letters("big"), 3)
        row["queue_stats_ms"] = _ms(lambda: queue_stats(backend), 3)
        row["find_ready_ms"] = _ms(lambda: backend.find(uuid))
        row["find_dead_ms"] = _ms(lambda: backend.find(failed[-1].uuid), 3)
        row["first_page_ms"] = _ms(lambda: next(backend.dead_letter_pages("big")))
        every = DeadLetterFilter(queue="big")
        count, row["scan_dead_kib"] = _peak_kib(lambda: sum(1 for _ in admin.dead_letters(backend, every)))
        assert count == dead, count
        row["requeue_one_ms"] = _ms(lambda: admin.requeue_one(backend, failed.pop()), 1)
        steps: list[float] = []

        def purge() -> int:
            removed = 0
            while True:
                t = time.perf_counter()
                step = backend.purge_step("big", limit=PURGE_BATCH)
                steps.append((time.perf_counter() - t) * 1000)
                removed += step
                if step < PURGE_BATCH:
                    return removed

        began = time.perf_counter()
        removed, row["purge_kib"] = _peak_kib(purge)
        row["purge_s"] = time.perf_counter() - began
        row["purged"] = removed
        row["purge_steps"] = len(steps)
        row["purge_step_max_ms"] = max(steps)
        backend.close()
        return row


def section(row: dict[str, Any]) -> str:
    """Markdown for the admin section."""
    n, d = f"{row['messages']:,}", f"{row['dead']:,}"
    lines = [
        "## Admin operations on a big queue",
        "",
        f"One queue of {n} ready messages and {d} dead letters on an embedded redis-server "
        f"(filled in {row['fill_s']:.1f} s); client wall time, median of a few calls.",
        "",
        "| operation | how | time |",
        "| --- | --- | --- |",
        f"| counts of the queue (`queue_counts`) | one Lua call | {row['queue_counts_ms']:.2f} ms |",
        f"| its dead letters counted | SCAN pages | {row['count_dead_ms']:.0f} ms |",
        f"| `alsek queues` (`queue_stats`: both) | | {row['queue_stats_ms']:.0f} ms |",
        f"| message lookup, in a queue | a HGET per queue, then one read | {row['find_ready_ms']:.2f} ms |",
        f"| message lookup, a dead letter | SCAN of the namespace | {row['find_dead_ms']:.0f} ms |",
        f"| first page of dead letters | SCAN page + MGET | {row['first_page_ms']:.1f} ms |",
        f"| every dead letter, filtered | SCAN pages | peak Python memory {row['scan_dead_kib']:,.0f} KiB |",
        f"| requeue one dead letter | one Lua call | {row['requeue_one_ms']:.2f} ms |",
        f"| purge the queue ({row['purged']:,} removed) | {row['purge_steps']} Lua calls of "
        f"{PURGE_BATCH:,} | {row['purge_s']:.2f} s, longest call {row['purge_step_max_ms']:.1f} ms, "
        f"peak Python memory {row['purge_kib']:,.0f} KiB |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.admin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--dead", type=int, default=10_000)
    args = parser.parse_args(argv)
    row = measure(args.messages, args.dead)
    text = section(row)
    print(text)
    results_md.write_section("admin", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
