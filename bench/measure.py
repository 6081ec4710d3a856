"""Measure one system; run by :mod:`bench.run` as ``python -m bench.measure`` (one process per system).

Phases, all on the same Redis (FLUSHALL first):

1. enqueue ``N`` no-op tasks one call at a time with no worker running (enqueue rate,
   Redis commands per enqueued task);
2. start the workers in config A, wait until the ``INCR`` counter reaches ``N``
   (drain rate from the launch of the worker command to the last task, boot counted;
   the steady rate from the first completed task is kept too), read INFO commandstats,
   the Redis server's CPU and the workers' RSS, then measure enqueue-to-start latency on
   the now idle workers; stop them;
3. the same backlog and drain for config B;
4. where the system has a batch enqueue API, its rate.

The result is written as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

import redis

from bench import stats
from bench.monitor import CommandMonitor
from bench.procs import Workers
from bench.systems import load
from bench.systems.base import CONFIG_A, CONFIGS, System
from bench.tasks._common import DONE_KEY, LATENCY_KEY

SETTLE_S = 0.5
STALL_S = 30.0
LATENCY_TIMEOUT_S = 5.0
MAX_LATENCY_MISSES = 3
FORK_SAMPLES = 300


class DrainFailed(RuntimeError):
    """Workers did not finish the backlog in time (or died)."""


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(f"  {msg}", file=sys.stderr, flush=True)


def reset(r: redis.Redis) -> None:
    """Empty Redis and zero its command statistics."""
    r.flushall()
    r.config_resetstat()


def time_enqueue(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    """Run ``fn(n)`` and return tasks per second."""
    start = time.perf_counter()
    fn(n)
    return n / (time.perf_counter() - start)


def time_incr_loop(r: redis.Redis, n: int) -> float:
    """The physical floor of one-call-at-a-time submission: ``n`` bare redis-py ``INCR`` calls
    from this thread (same client library and parser as the systems), per second."""
    incr, start = r.incr, time.perf_counter()
    for _ in range(n):
        incr("bench:floor")
    rate = n / (time.perf_counter() - start)
    r.delete("bench:floor")
    return rate


def fork_floor(n: int) -> float:
    """The ceiling of a fresh process per task: ``n`` times fork this process (the tasks
    imported, as a zygote holds them), let the child exit at once and reap it; per second, on
    one core. Nothing of a task, no pipe and no Redis connection is in it."""
    start = time.perf_counter()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    return n / (time.perf_counter() - start)


def wait_drain(r: redis.Redis, target: int, workers: Workers, timeout_s: float) -> dict:
    """Poll the counter until it reaches ``target``; bounded by time, stalls and worker death.

    ``rate`` counts from the launch of the worker command (boot included); ``steady_rate``
    from the first completed task."""
    start = workers.launched_at
    deadline = start + timeout_s
    gets = 0
    first_t = first_n = None
    cpu0 = 0.0
    last_val, last_change = 0, start
    while True:
        value = int(r.get(DONE_KEY) or 0)
        gets += 1
        now = time.perf_counter()
        if first_t is None and value > 0:
            first_t, first_n = now, value
            cpu0 = workers.cpu_seconds()
        if value >= target:
            break
        if value != last_val:
            last_val, last_change = value, now
        reason = None
        if now > deadline:
            reason = f"timeout after {timeout_s:.0f}s"
        elif first_t is not None and now - last_change > STALL_S:
            reason = f"no progress for {STALL_S:.0f}s"
        elif not workers.alive():
            reason = f"workers exited with {workers.proc.returncode}"
        if reason:
            raise DrainFailed(f"{reason} at {value}/{target}; log tail:\n{workers.log_tail()}")
        time.sleep(0.001 if first_t is None else 0.01)
    cpu1 = workers.cpu_seconds()
    done = value - first_n
    elapsed = now - first_t
    return {
        "rate": target / (now - start),
        "steady_rate": done / elapsed if elapsed > 0 and done > 0 else None,
        "startup_s": first_t - start,
        "elapsed_s": elapsed,
        "cpu_ms_per_task": (cpu1 - cpu0) * 1000 / done if done > 0 else None,
        "harness_gets": gets,
    }


def measure_latency(r: redis.Redis, system: System, samples: int, workers: Workers) -> dict:
    """Enqueue one stamp task at a time on idle workers; time until the task body starts.

    Two clocks: from the moment the enqueue call returned (the message is in Redis; the
    headline, and how the issue's reference numbers were taken) and from just before
    the enqueue call (adds the cost of one enqueue on an idle client).
    """
    r.delete(LATENCY_KEY)
    rng = random.Random(42)
    after: list[float] = []
    before: list[float] = []
    misses = 0
    time.sleep(1.0)  # let the workers go idle
    for _ in range(samples):
        time.sleep(rng.uniform(0.01, 0.05))
        t0 = time.time()
        system.enqueue_stamp()
        t1 = time.time()
        got = r.blpop([LATENCY_KEY], timeout=LATENCY_TIMEOUT_S)
        if got is None:
            misses += 1
            if misses >= MAX_LATENCY_MISSES or not workers.alive():
                break
            continue
        started = float(got[1])
        after.append(started - t1)
        before.append(started - t0)
    if not after:
        return {"samples": 0, "misses": misses}
    return {
        "samples": len(after),
        "misses": misses,
        "p50_ms": stats.percentile(after, 50) * 1000,
        "p99_ms": stats.percentile(after, 99) * 1000,
        "mean_ms": statistics.fmean(after) * 1000,
        "max_ms": max(after) * 1000,
        "call_p50_ms": stats.percentile(before, 50) * 1000,
        "call_p99_ms": stats.percentile(before, 99) * 1000,
    }


def run_config(r: redis.Redis, system: System, config: str, args: argparse.Namespace, logdir: Path) -> dict:
    """Backlog, drain, commands, RSS (and latency for config A) for one worker config."""
    out: dict = {"label": system.labels.get(config, config)}
    reset(r)
    cpu = stats.server_cpu_s(r)
    out["incr_rate"] = time_incr_loop(r, args.tasks)
    cpu, before = stats.server_cpu_s(r), cpu
    out["incr_server_us"] = (cpu - before) * 1e6 / args.tasks
    r.config_resetstat()
    out["enqueue_rate"] = time_enqueue(system.enqueue_noop, args.tasks)
    out["enqueue_cmds"] = stats.commandstats(r)
    out["enqueue_server_us"] = (stats.server_cpu_s(r) - cpu) * 1e6 / args.tasks
    log(f"{config}: enqueued {args.tasks} at {out['enqueue_rate']:.0f}/s (bare INCR loop "
        f"{out['incr_rate']:.0f}/s); starting workers")
    r.config_resetstat()
    argv = system.worker_argv(config)
    out["argv"] = argv
    cpu0 = stats.server_cpu_s(r)
    workers = Workers(argv, system.worker_env(), logdir / f"{system.name}-{config}.log")
    try:
        out.update(wait_drain(r, args.tasks, workers, args.drain_timeout))
        out["redis_cpu_ms_per_task"] = (stats.server_cpu_s(r) - cpu0) * 1000 / args.tasks
        usec = stats.command_usec(r)
        gets = out.pop("harness_gets")
        time.sleep(SETTLE_S)
        worker_cmds = stats.commandstats(r)
        get_usec = usec.get("get", 0) * min(1.0, gets / max(worker_cmds.get("get", 1), 1))
        out["redis_cmd_us_per_task"] = (sum(usec.values()) - get_usec) / args.tasks
        worker_cmds["get"] = worker_cmds.get("get", 0) - gets
        out["worker_cmds"] = {k: v for k, v in worker_cmds.items() if v > 0}
        out["rss_mb"] = workers.rss_bytes() / 2**20
        out["processes"] = len(workers.tree())
        log(f"{config}: drained at {out['rate']:.0f}/s from launch ({out['steady_rate'] or 0:.0f}/s "
            f"steady), Redis CPU {out['redis_cpu_ms_per_task']:.3f} ms/task, RSS {out['rss_mb']:.0f} MB")
        if config == CONFIG_A and args.latency_samples > 0:
            out["latency"] = measure_latency(r, system, args.latency_samples, workers)
            log(f"{config}: latency {out['latency']}")
    finally:
        workers.stop()
    return out


def monitor_pass(r: redis.Redis, system: System, tasks: int, args: argparse.Namespace, logdir: Path) -> dict:
    """Untimed enqueue + drain of ``tasks`` in config A under MONITOR: client vs in-script commands."""
    reset(r)
    mon = CommandMonitor(os.environ["BENCH_REDIS_URL"], r.client_info()["addr"]).start()
    system.enqueue_noop(tasks)
    mon.mark_phase(r)
    workers = Workers(system.worker_argv(CONFIG_A), system.worker_env(), logdir / f"{system.name}-monitor.log")
    try:
        wait_drain(r, tasks, workers, args.drain_timeout)
        time.sleep(SETTLE_S)
    finally:
        mon.stop(r)
        workers.stop()
    out = mon.per_task(tasks)
    out["tasks"] = tasks
    log(f"monitor: {out}")
    return out


def measure(system: System, args: argparse.Namespace, logdir: Path) -> dict:
    """All phases for one system."""
    r = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    system.setup()
    result: dict = {"configs": {}}
    if system.forks_per_task:
        result["fork_floor"] = fork_floor(FORK_SAMPLES)
        log(f"fork + exit + reap of this process: {result['fork_floor']:.0f}/s on one core")
    for config in [c for c in args.configs if c in system.configs]:
        try:
            result["configs"][config] = run_config(r, system, config, args, logdir)
        except DrainFailed as e:
            result["configs"][config] = {"error": str(e), "label": system.labels.get(config, config)}
            log(f"{config}: FAILED {e}")
    if args.monitor_tasks > 0 and CONFIG_A in system.configs:
        try:
            result["monitor"] = monitor_pass(r, system, args.monitor_tasks, args, logdir)
        except DrainFailed as e:
            log(f"monitor pass FAILED {e}")
    reset(r)
    start = time.perf_counter()
    if args.batch and system.enqueue_noop_batch(args.tasks):
        result["enqueue_batch_rate"] = args.tasks / (time.perf_counter() - start)
    reset(r)
    return result


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.measure")
    p.add_argument("--system", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--tasks", type=int, default=10_000)
    p.add_argument("--latency-samples", type=int, default=300)
    p.add_argument("--drain-timeout", type=float, default=180.0)
    p.add_argument("--monitor-tasks", type=int, default=1000)
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--logdir", default="")
    p.add_argument("--no-batch", dest="batch", action="store_false", help="skip the batch enqueue")
    args = p.parse_args(argv)
    args.configs = [c for c in args.configs.split(",") if c]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run finally blocks: stop workers
    system = load(args.system)
    result: dict = {"system": system.name, "version": system.version(), "labels": system.labels,
                    "notes": system.notes, "tasks": args.tasks, "parser": stats.parser_name()}
    logdir = Path(args.logdir or tempfile.mkdtemp(prefix="bench-logs-"))
    reason = system.unavailable_reason()
    if reason:
        result["status"] = reason
    else:
        try:
            result.update(measure(system, args, logdir))
            result["status"] = "ok"
        except Exception as e:  # noqa: BLE001 - one system's failure must not sink the run
            result["status"] = f"error: {type(e).__name__}: {e}"
            traceback.print_exc()
    Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
