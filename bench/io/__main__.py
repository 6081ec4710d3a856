"""``python -m bench.io``: 1,000 tasks that each await 100 ms, on alsek, arq, SAQ and taskiq, one
after another on the same redis-server, each worker one process running up to 100 tasks at once;
writes the ``io`` section of bench/RESULTS.md. Run it from bench/.env-io (``make bench``)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis

from bench import results_md
from bench.machine import machine_info
from bench.redis_server import launcher
from bench.report import markdown_table
from bench.systems.base import version_of

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def commands(concurrency: int) -> dict[str, list[str]]:
    """Each system's worker: one process, up to ``concurrency`` tasks at once."""
    c = str(concurrency)
    return {
        "alsek": [str(BIN / "alsek"), "thread-pool", "bench.io.alsek_io", "--n_processes", "1",
                  "--n_threads", "4", "--async-concurrency", c, "--log-level", "WARNING"],
        "arq": [str(BIN / "arq"), "bench.io.arq_io.WorkerSettings"],
        "saq": [str(BIN / "saq"), "bench.io.saq_io.settings", "--workers", "1"],
        "taskiq": [str(BIN / "taskiq"), "worker", "bench.io.taskiq_io:broker", "--workers", "1",
                   "--max-async-tasks", c],
    }  # fmt: skip


CONFIG = {
    "alsek": "`alsek thread-pool --n_processes 1 --n_threads 4 --async-concurrency {c}`; "
    "submitted with `await task.agenerate()`",
    "arq": "`arq WorkerSettings`, `max_jobs = {c}` (other settings default: idle poll 0.5 s); "
    "`await pool.enqueue_job()`",
    "saq": "`saq settings --workers 1`, `concurrency = {c}`; `await queue.enqueue()`",
    "taskiq": "`taskiq worker --workers 1 --max-async-tasks {c}`, taskiq-redis "
    "`ListQueueBroker`; `await task.kiq()`",
}
PACKAGES = {"alsek": "alsek", "arq": "arq", "saq": "saq", "taskiq": "taskiq"}


async def _enqueue(module: Any, count: int, parallel: int) -> None:
    gate = asyncio.Semaphore(parallel)

    async def one() -> None:
        async with gate:
            await module.enqueue_one()

    await asyncio.gather(*(one() for _ in range(count)))


def _wait_done(client: redis.Redis, key: str, count: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while int(client.get(key) or 0) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{client.get(key)} of {count} tasks done in {timeout_s} s")
        time.sleep(0.002)
    return time.perf_counter()


class Contender:
    """One system: its worker process, its submitting module and its counter."""

    def __init__(self, name: str, url: str, args: argparse.Namespace, logdir: Path) -> None:
        self.name, self.key = name, f"bench:io:done:{name}"
        env = {**os.environ, "BENCH_REDIS_URL": url, "BENCH_CONCURRENCY": str(args.concurrency),
               "BENCH_DONE_KEY": self.key, "PYTHONPATH": str(ROOT)}  # fmt: skip
        os.environ.update({k: v for k, v in env.items() if k != "BENCH_DONE_KEY"})
        self.log = (logdir / f"io-{name}.log").open("w")
        self.worker = subprocess.Popen(commands(args.concurrency)[name], cwd=ROOT, env=env,
                                       stdout=self.log, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # fmt: skip
        self.module = importlib.import_module(f"bench.io.{name}_io")
        self.loop = asyncio.new_event_loop()
        self.rounds: list[dict[str, float]] = []
        self.status = "ok"

    def warm_up(self, client: redis.Redis) -> None:
        self.loop.run_until_complete(_enqueue(self.module, 1, 1))
        _wait_done(client, self.key, 1, 60)

    def drain(self, client: redis.Redis, args: argparse.Namespace) -> None:
        client.set(self.key, 0)
        start = time.perf_counter()
        self.loop.run_until_complete(_enqueue(self.module, args.tasks, args.parallel))
        submitted = time.perf_counter()
        done = _wait_done(client, self.key, args.tasks, 120)
        self.rounds.append({"total_s": done - start, "submit_s": submitted - start})

    def result(self) -> dict[str, Any]:
        return {"system": self.name, "status": self.status, "rounds": self.rounds}

    def stop(self) -> None:
        self.loop.close()
        os.killpg(self.worker.pid, signal.SIGTERM)
        try:
            self.worker.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait(5)
        self.log.close()


def measure(names: list[str], url: str, args: argparse.Namespace, logdir: Path) -> list[dict]:
    """Start every system's worker and warm it up, then run ``args.rounds`` rounds; in each,
    every system drains ``args.tasks`` in turn (interleaved, so a load change on the shared
    machine hits them all alike)."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    contenders = [Contender(name, url, args, logdir) for name in names]
    try:
        for contender in contenders:
            try:
                contender.warm_up(client)
            except Exception as error:  # noqa: BLE001 - reported in the table
                contender.status = f"failed: {error}"
        for _ in range(args.rounds):
            for contender in (c for c in contenders if c.status == "ok"):
                try:
                    contender.drain(client, args)
                except Exception as error:  # noqa: BLE001 - reported in the table
                    contender.status = f"failed: {error}"
        return [c.result() for c in contenders]
    finally:
        for contender in contenders:
            contender.stop()
        client.close()


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> list[list[str]]:
    ideal = args.tasks * args.sleep_s / args.concurrency
    base = next((r for r in results if r["system"] == "alsek" and r["status"] == "ok"), None)
    base_s = statistics.median(x["total_s"] for x in base["rounds"]) if base else None
    rows = [["system", f"drain of {args.tasks:,} (s, median)", "tasks/s", "vs ideal",
             "time vs alsek", "submit (s)", "rounds (s)"]]  # fmt: skip
    for r in results:
        if r["status"] != "ok":
            rows.append([r["system"], r["status"], "-", "-", "-", "-", "-"])
            continue
        total = statistics.median(x["total_s"] for x in r["rounds"])
        submit = statistics.median(x["submit_s"] for x in r["rounds"])
        ratio = f"{total / base_s:.2f}×" if base_s else "-"
        rows.append([r["system"], f"{total:.3f}", f"{args.tasks / total:,.0f}",
                     f"{total / ideal:.2f}×", ratio, f"{submit:.3f}",
                     " ".join(f"{x['total_s']:.2f}" for x in r["rounds"])])  # fmt: skip
    return rows


def section(results: list[dict[str, Any]], args: argparse.Namespace, info: dict[str, str]) -> str:
    c = args.concurrency
    ideal = args.tasks * args.sleep_s / c
    machine = "\n".join([f"- command: `{' '.join(sys.argv)}` (from bench/.env-io)"]
                        + [f"- {k}: {v}" for k, v in info.items()])  # fmt: skip
    config = [["system", "version", "how it ran"]] + [
        [name, version_of(PACKAGES[name]), CONFIG[name].format(c=c)] for name in CONFIG
    ]
    return "\n\n".join([
        f"## I/O-bound tasks: alsek vs arq, SAQ, taskiq ({info['date']})",
        machine,
        f"{args.tasks:,} tasks, each `await asyncio.sleep({args.sleep_s})` then one `INCR`, submitted "
        f"from one asyncio loop ({args.parallel} submissions in flight), drained by one worker "
        f"process per system running up to {c} tasks at once, on the same redis-server; every "
        f"worker runs throughout, and each of {args.rounds} rounds drains each system in turn "
        f"(after a warm-up task each). Time from the "
        f"first submission to the last `INCR`; the ideal is {ideal:.1f} s ({args.tasks:,} × "
        f"{args.sleep_s} s / {c}). \"time vs alsek\" above 1 means slower than alsek. The "
        "machine is shared: compare systems within this run.",
        markdown_table(table(results, args)),
        "### How each system was run",
        markdown_table(config),
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=50)
    parser.add_argument("--systems", default="alsek,arq,saq,taskiq")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    args.sleep_s = float(os.environ.get("BENCH_SLEEP_S", "0.1"))
    logdir = ROOT / "bench" / ".logs"
    logdir.mkdir(exist_ok=True)
    with launcher() as server:
        results = measure(args.systems.split(","), server.url, args, logdir)
    info = {k: v for k, v in machine_info().items() if v != "-"}
    info.update({p: version_of(p) for p in ("arq", "saq", "taskiq", "taskiq-redis")})
    text = section(results, args, info)
    print(text)
    if not args.no_write:
        results_md.write_section("io", text)


if __name__ == "__main__":
    main()
