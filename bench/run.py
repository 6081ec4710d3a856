"""Entry point: ``python -m bench.run [--tasks N] [--only alsek,rq,...] [--quick] [--soak N]``.

Starts one redis-server on a free loopback port, measures each system in a
process of its own (``bench.measure``; FLUSHALL between systems), prints the
table with alsek ÷ best-peer ratios and records it in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report, results_md
from bench.machine import machine_info
from bench.merge import best_of
from bench.procs import REPO_ROOT
from bench.redis_server import launcher
from bench.systems import DEFAULT_ORDER, REGISTRY

DRIVER_GRACE_S = 30.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[1])
    p.add_argument("--tasks", type=int, default=None, help="backlog size per drain (default 10000; --quick 2000)")
    p.add_argument("--only", default="", help=f"comma-separated subset of {','.join(DEFAULT_ORDER)}")
    p.add_argument("--quick", action="store_true", help="small run (~2 minutes): 2000 tasks, 100 latency samples")
    p.add_argument("--latency-samples", type=int, default=None, help="default 300 (--quick 100)")
    p.add_argument("--repeat", type=int, default=1, help="rounds over all systems; best of them is shown")
    p.add_argument("--drain-timeout", type=float, default=120.0, help="seconds allowed for one drain")
    p.add_argument("--soak", type=int, default=0, metavar="N", help="also run N tasks through long-lived workers and track RSS")
    p.add_argument("--soak-only", action="store_true", help="run only the soak")
    p.add_argument("--soak-systems", default="alsek", help="systems to soak (default alsek)")
    p.add_argument("--contention", action="store_true", help="also drain every system beside a CPU hog pinned to one core")
    p.add_argument("--contention-only", action="store_true", help="run only the contention drains")
    p.add_argument("--results", default=None, help="results page to write (default bench/RESULTS.md for full runs)")
    p.add_argument("--no-results", action="store_true", help="do not write any results page")
    args = p.parse_args(argv)
    args.tasks = args.tasks or (2_000 if args.quick else 10_000)
    if args.latency_samples is None:
        args.latency_samples = 100 if args.quick else 300
    args.systems = [s.strip() for s in args.only.split(",") if s.strip()] or list(DEFAULT_ORDER)
    args.soak_systems = [s.strip() for s in args.soak_systems.split(",") if s.strip()]
    unknown = sorted(set(args.systems + args.soak_systems) - set(REGISTRY))
    if unknown:
        p.error(f"unknown system(s): {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    if args.soak_only and not args.soak:
        args.soak = 100_000
    args.contention = args.contention or args.contention_only
    return args


def run_driver(module: str, system: str, extra: list[str], env: dict[str, str], timeout_s: float) -> dict:
    """Run ``python -m <module> --system <system>`` and return its JSON result (bounded)."""
    with tempfile.NamedTemporaryFile(prefix=f"bench-{system}-", suffix=".json", delete=False) as f:
        out = Path(f.name)
    argv = [sys.executable, "-m", module, "--system", system, "--out", str(out), *extra]
    proc = subprocess.Popen(argv, env=env, cwd=REPO_ROOT)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the driver stops its workers on SIGTERM
        try:
            proc.wait(DRIVER_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(DRIVER_GRACE_S)
    try:
        return json.loads(out.read_text())
    except (OSError, ValueError):
        return {"system": system, "status": f"error: driver exited with {proc.returncode} and no result"}
    finally:
        out.unlink(missing_ok=True)


def measure_all(args: argparse.Namespace, env: dict[str, str], logdir: Path) -> list[dict]:
    """Measure every selected system ``--repeat`` times (interleaved rounds); best of the rounds."""
    rounds = [measure_round(args, env, logdir, i) for i in range(max(1, args.repeat))]
    return [best_of([r[i] for r in rounds]) for i in range(len(args.systems))]


def measure_round(args: argparse.Namespace, env: dict[str, str], logdir: Path, round_no: int,
                  drains_only: bool = False) -> list[dict]:
    """Measure every selected system once, one driver process each (``drains_only``: the
    drains alone, no latency, MONITOR pass or batch enqueue)."""
    results = []
    budget = 2 * args.drain_timeout + args.latency_samples * 0.2 + 180
    for name in args.systems:
        print(f"== {name} (round {round_no + 1}/{max(1, args.repeat)}{', beside a CPU hog' if drains_only else ''})",
              file=sys.stderr, flush=True)
        extra = ["--tasks", str(args.tasks), "--latency-samples", str(args.latency_samples),
                 "--monitor-tasks", str(min(1000, args.tasks // 4)),
                 "--drain-timeout", str(args.drain_timeout), "--logdir", str(logdir)]
        if drains_only:
            extra += ["--latency-samples", "0", "--monitor-tasks", "0", "--no-batch"]
        started = time.monotonic()
        result = run_driver("bench.measure", name, extra, env, budget)
        print(f"   {name}: {result.get('status')} in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
        results.append(result)
    return results


def contention_all(args: argparse.Namespace, env: dict[str, str], logdir: Path) -> list[dict]:
    """The drains again, beside a busy loop pinned to one core (best of ``--repeat`` rounds)."""
    with cpu_hog():
        rounds = [measure_round(args, env, logdir, i, drains_only=True) for i in range(max(1, args.repeat))]
    return [best_of([r[i] for r in rounds]) for i in range(len(args.systems))]


@contextlib.contextmanager
def cpu_hog():  # type: ignore[no-untyped-def]
    """A Python busy loop pinned to core 0 for the length of the block."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(hog.pid, {0})
    try:
        yield hog
    finally:
        hog.kill()
        hog.wait(10)


def soak_all(args: argparse.Namespace, env: dict[str, str], logdir: Path) -> list[dict]:
    """Run the RSS soak for each selected system."""
    results = []
    timeout = max(300.0, args.soak / 100)
    for name in args.soak_systems:
        print(f"== soak {name} ({args.soak:,} tasks)", file=sys.stderr, flush=True)
        extra = ["--tasks", str(args.soak), "--logdir", str(logdir), "--drain-timeout", str(args.drain_timeout)]
        results.append(run_driver("bench.soak", name, extra, env, timeout * 3))
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    command = "python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv)
    logdir = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"worker logs: {logdir}", file=sys.stderr)
    results: list[dict] = []
    soak: list[dict] = []
    hogged: list[dict] = []
    with launcher() as server:
        env = dict(os.environ, BENCH_REDIS_URL=server.url)
        print(f"redis-server on {server.url} ({type(server).__name__})", file=sys.stderr)
        if not args.soak_only and not args.contention_only:
            results = measure_all(args, env, logdir)
        if args.contention:
            hogged = contention_all(args, env, logdir)
        if args.soak:
            soak = soak_all(args, env, logdir)
    info = machine_info()
    info["load average (1/5/15 min) at the start"] = load_at_start
    parsers = sorted({r["parser"] for r in results + hogged if r.get("parser")})
    info["redis-py reply parser (every system)"] = ", ".join(parsers) or "-"
    if results:
        info["rounds (best of)"] = str(max(1, args.repeat))
    if results:
        rows = report.table_rows(results)
        print("\n" + report.text_table(rows))
        print("\n" + report.markdown_table(report.targets(results, soak)))
    if soak:
        print("\n" + results_md.soak_section(soak, info, command))
    if hogged:
        print("\n" + results_md.contention_section(results, hogged, info, command))
    write_to = None if args.no_results else args.results
    full = not args.only and not args.quick and args.tasks == 10_000
    if write_to is None and not args.no_results and (full or args.soak_only or args.contention_only):
        write_to = str(results_md.RESULTS)
    if write_to:
        path = Path(write_to)
        if results:
            results_md.write_section("main", results_md.main_section(results, info, command, soak), path)
        if soak:
            results_md.write_section("soak", results_md.soak_section(soak, info, command), path)
        if hogged:
            results_md.write_section("contention", results_md.contention_section(results, hogged, info, command), path)
        print(f"\nrecorded in {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
