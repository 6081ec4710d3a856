"""RSS over a long run: ``python -m bench.soak`` (started by ``bench.run --soak N``).

Workers in one config stay up while ``N`` no-op tasks go through in chunks; the
worker tree's RSS is sampled after each chunk. "Flat" means the RSS at the end is
within 10% of the RSS after the first chunk (the warm-up).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import redis

from bench.measure import DrainFailed, log, reset, wait_drain
from bench.procs import Workers
from bench.systems import load
from bench.systems.base import CONFIG_A

FLAT_GROWTH = 0.10


def soak(system_name: str, total: int, chunk: int, config: str, timeout_s: float, logdir: Path) -> dict:
    """Run ``total`` tasks through one long-lived worker pool and sample its RSS per chunk."""
    system = load(system_name)
    result: dict = {"system": system.name, "version": system.version(), "config": config,
                    "label": system.labels.get(config, config), "tasks": total}
    reason = system.unavailable_reason()
    if reason:
        result["status"] = reason
        return result
    system.setup()
    r = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    reset(r)
    workers = Workers(system.worker_argv(config), system.worker_env(), logdir / f"soak-{system.name}.log")
    samples: list[dict] = []
    start = time.perf_counter()
    try:
        done = 0
        while done < total:
            size = min(chunk, total - done)
            system.enqueue_noop(size)
            done += size
            wait_drain(r, done, workers, timeout_s)
            samples.append({"tasks": done, "rss_mb": workers.rss_bytes() / 2**20,
                            "elapsed_s": time.perf_counter() - start})
            log(f"soak {system.name}: {done:,} tasks, RSS {samples[-1]['rss_mb']:.1f} MB")
    finally:
        workers.stop()
        reset(r)
    base, end = samples[0]["rss_mb"], samples[-1]["rss_mb"]
    growth = (end - base) / base if base else 0.0
    result.update({
        "status": "ok", "samples": samples, "growth": growth, "flat": growth <= FLAT_GROWTH,
        "rate": total / (time.perf_counter() - start),
        "summary": (f"RSS {base:.1f} MB after {samples[0]['tasks']:,}, {end:.1f} MB at the end "
                    f"({growth:+.1%}), max {max(s['rss_mb'] for s in samples):.1f} MB"),
    })
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak")
    p.add_argument("--system", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--tasks", type=int, default=100_000)
    p.add_argument("--chunk", type=int, default=10_000)
    p.add_argument("--config", default=CONFIG_A)
    p.add_argument("--drain-timeout", type=float, default=300.0)
    p.add_argument("--logdir", default="")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logdir = Path(args.logdir or tempfile.mkdtemp(prefix="bench-logs-"))
    try:
        result = soak(args.system, args.tasks, args.chunk, args.config, args.drain_timeout, logdir)
    except (DrainFailed, Exception) as e:  # noqa: BLE001 - report, never crash the run
        traceback.print_exc()
        result = {"system": args.system, "tasks": args.tasks, "status": f"error: {type(e).__name__}: {e}"}
    Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
