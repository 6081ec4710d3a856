"""What bare redis-py can do on this machine: ``python -m bench.ceiling [--seconds S]`` (part of
``make bench``). Section ``ceiling`` of ``bench/RESULTS.md``.

The floor under every drain of the comparison: one process of N threads, each calling ``INCR``
(the benchmark's no-op task body) in a loop against an embedded redis-server, with no queue at
all. Run once with the process free to use every CPU, once pinned to one CPU (as
``--pin-cpus`` does), to show what handing the interpreter lock between cores costs.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from typing import Any

import redis

from alsek.adapters.redis import RedisServer
from bench import results_md
from bench.machine import machine_info

THREADS = (1, 8)


def incr_loop(url: str, threads: int, seconds: float) -> dict[str, float]:
    """``threads`` threads calling INCR for ``seconds``: calls/s and client CPU µs per call."""
    pool = redis.ConnectionPool.from_url(url)
    counts = [0] * threads
    stop_at = time.monotonic() + seconds

    def run(index: int) -> None:
        client, calls = redis.Redis(connection_pool=pool), 0
        while time.monotonic() < stop_at:
            client.incr("ceiling")
            calls += 1
        counts[index] = calls

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    began, cpu = time.monotonic(), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed, cpu = time.monotonic() - began, time.process_time() - cpu
    pool.disconnect()
    total = max(1, sum(counts))
    return {"rate": total / elapsed, "cpu_us": cpu / total * 1e6}


def measure(seconds: float) -> list[dict[str, Any]]:
    """Each thread count, unpinned then pinned to one CPU (where the system can pin)."""
    rows: list[dict[str, Any]] = []
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    with RedisServer() as server:
        for threads in THREADS:
            rows.append({"threads": threads, "pinned": False, **incr_loop(server.url, threads, seconds)})
            if allowed and len(allowed) > 1:
                os.sched_setaffinity(0, {max(allowed)})
                try:
                    rows.append({"threads": threads, "pinned": True, **incr_loop(server.url, threads, seconds)})
                finally:
                    os.sched_setaffinity(0, allowed)
    return rows


def section(rows: list[dict[str, Any]], seconds: float) -> str:
    """Markdown for the section."""
    info = machine_info()
    table = ["| threads in one process | CPUs | INCR/s | client CPU µs per INCR |", "|---|---|---|---|"]
    table += [
        f"| {r['threads']} | {'one (pinned)' if r['pinned'] else 'all'} | {r['rate']:,.0f} | {r['cpu_us']:.0f} |"
        for r in rows
    ]
    return "\n\n".join([
        f"## Ceiling: bare redis-py INCR loops ({info['date']})",
        f"- command: `python -m bench.ceiling --seconds {seconds:g}`\n- nproc: {info['nproc']}\n"
        f"- cpu: {info['cpu']}\n- python: {info['python']}",
        "No queue at all: threads calling `INCR` (the no-op task's body) on an embedded "
        "redis-server. A drain of config A (1 process × 8 threads) cannot beat the 8-thread "
        "row of its CPU setting; a reused process-pool process runs one task at a time, so "
        "config B reused cannot beat 2 × the 1-thread row.",
        "\n".join(table),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each loop")
    args = parser.parse_args(argv)
    text = section(measure(args.seconds), args.seconds)
    print(text)
    results_md.write_section("ceiling", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
