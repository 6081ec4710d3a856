"""Scale run: ``python -m bench.scale [--tasks N] [--queues Q]`` (part of ``make bench``).

The same drain on one machine over three topologies: one redis-server, a Redis Cluster of one
primary and a Redis Cluster of three primaries (no replicas). ``Q`` queues (spread over the
primaries by their hash tags), ``N`` no-op tasks split evenly, one worker process per queue
(``alsek thread-pool ... --n_threads 8 -qu <queue>``), started on the full backlog. Reported
per topology: enqueue/s (``generate_many``), drain tasks/s (first completion to empty queues),
Redis CPU per task on each primary (``INFO cpu`` before and after the drain), worker CPU per
task, and the projection for N machines. Then the cost of durable submissions (``WAIT`` for
one replica) on a primary with one replica. Section ``scale`` of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from alsek.adapters.redis import LocalCluster, RedisBackend, RedisServer
from alsek.adapters.redis.topology import ConfiguredServer, in_sync, wait_for
from alsek.domain.model.effects import NO_EFFECTS
from alsek.domain.model.message import Message
from bench import results_md, scale_report
from bench.machine import machine_info
from bench.procs import REPO_ROOT, Workers
from bench.systems.base import script

TASKS_MODULE = REPO_ROOT / "bench" / "tasks" / "alsek_scale_tasks.py"
BATCH = 1_000
POLL_S = 0.02
STALL_S = 30.0
CORES = (2, 8)  # machines whose projection is shown
MACHINES = (1, 3, 10)


def _load_tasks(url: str, queues: list[str]) -> Any:
    """A fresh import of the tasks module for ``url`` (each topology gets its own)."""
    os.environ.update(BENCH_SCALE_URL=url, BENCH_SCALE_QUEUES=",".join(queues))
    name = f"alsek_scale_tasks_{time.monotonic_ns()}"
    spec = importlib.util.spec_from_file_location(name, TASKS_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cpu_s(address: tuple[str, int]) -> float:
    """User + system CPU seconds of the redis-server at ``address``."""
    import redis

    with redis.Redis(*address) as client:
        cpu = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def _waiting(backend: RedisBackend, queues: list[str]) -> list[int]:
    """Messages not yet acked (ready, delayed or leased), per queue."""
    client = backend.client
    left = []
    for queue in queues:
        prefix = f"{backend.namespace}:idx:{{{queue}}}:"
        left.append(
            sum(int(client.zcard(prefix + part)) for part in ("ready", "delayed", "leased"))
        )
    return left


def spread_queues(count: int, shards: int = 3) -> list[str]:
    """``count`` queue names whose hash tags fall evenly in the slot ranges of ``shards``
    primaries (as :class:`LocalCluster` splits the slots), so every shard serves as many."""
    from redis.crc import key_slot

    wanted = {shard: count // shards + (shard < count % shards) for shard in range(shards)}
    names: list[str] = []
    candidate = 0
    while len(names) < count:
        name = f"s{candidate}"
        shard = key_slot(f"scale:idx:{{{name}}}:ready".encode()) * shards // 16384
        if wanted[shard]:
            wanted[shard] -= 1
            names.append(name)
        candidate += 1
    return names


def drain(label: str, url: str, primaries: list[tuple[str, int]], args: Any, logdir: Path) -> dict:
    """Enqueue, drain and measure one topology."""
    queues = spread_queues(args.queues)
    tasks = _load_tasks(url, queues)
    backend = tasks.backend
    owner = {q: _owner(backend, q, primaries) for q in queues}
    per_queue = args.tasks // len(queues)
    started = time.perf_counter()
    for queue in queues:
        for done in range(0, per_queue, BATCH):
            tasks.tasks[queue].generate_many([{}] * min(BATCH, per_queue - done))
    enqueue_rate = per_queue * len(queues) / (time.perf_counter() - started)
    total = per_queue * len(queues)
    cpu0 = {address: _cpu_s(address) for address in primaries}
    env = {"BENCH_SCALE_URL": url, "BENCH_SCALE_QUEUES": ",".join(queues)}
    workers = [
        Workers([script("alsek"), "thread-pool", "bench.tasks.alsek_scale_tasks", "--n_processes",
                 "1", "--n_threads", "8", "-qu", queue, "--log-level", "warning"],
                env, logdir / f"scale-{label.replace(' ', '_')}-{queue}.log")
        for queue in queues
    ]  # fmt: skip
    try:
        started_at, end_at, measured, worker_cpu0 = _await_drain(backend, queues, workers)
        worker_cpu = sum(w.cpu_seconds() for w in workers) - worker_cpu0
        cpu = {address: _cpu_s(address) - cpu0[address] for address in primaries}
    finally:
        for worker in workers:
            worker.stop()
    backend.clear_namespace()
    backend.close()
    tasks_of = {a: per_queue * sum(1 for q in queues if owner[q] == a) for a in primaries}
    return {
        "label": label, "primaries": len(primaries), "tasks": total, "queues": len(queues),
        "enqueue_rate": enqueue_rate, "rate": measured / (end_at - started_at),
        "measured": measured,
        "redis_cpu_ms": {f"{h}:{p}": 1000 * cpu[(h, p)] for h, p in primaries},
        "redis_ms_per_task": {f"{h}:{p}": 1000 * cpu[(h, p)] / max(tasks_of[(h, p)], 1)
                              for h, p in primaries},
        "redis_ms_per_task_all": 1000 * sum(cpu.values()) / total,
        "tasks_per_primary": {f"{h}:{p}": tasks_of[(h, p)] for h, p in primaries},
        "worker_ms_per_task": 1000 * worker_cpu / measured,
    }  # fmt: skip


def _owner(backend: RedisBackend, queue: str, primaries: list[tuple[str, int]]) -> tuple[str, int]:
    if len(primaries) == 1:
        return primaries[0]
    node = backend.client.get_node_from_key(f"{backend.namespace}:idx:{{{queue}}}:ready")
    return (node.host, node.port)


def _await_drain(
    backend: RedisBackend, queues: list[str], workers: list[Workers]
) -> tuple[float, float, int, float]:
    """Wait (bounded: stalls, dead workers) until every queue is empty. The measure starts
    once every worker has begun (every queue has lost a message): returns when, when the
    queues were empty, how many messages were left at the start, and the workers' CPU
    seconds then."""
    initial = _waiting(backend, queues)
    started_at, measured, worker_cpu0 = None, 0, 0.0
    last, last_change = sum(initial), time.perf_counter()
    while True:
        left = _waiting(backend, queues)
        now = time.perf_counter()
        if started_at is None and all(n < i for n, i in zip(left, initial, strict=True)):
            started_at, measured = now, sum(left)
            worker_cpu0 = sum(w.cpu_seconds() for w in workers)
        if sum(left) == 0:
            if started_at is None or measured == 0:
                raise RuntimeError("the drain ended before every worker began: raise --tasks")
            return started_at, now, measured, worker_cpu0
        if sum(left) != last:
            last, last_change = sum(left), now
        if now - last_change > STALL_S or not all(w.alive() for w in workers):
            tails = "\n".join(w.log_tail() for w in workers)
            raise RuntimeError(f"drain stalled with {sum(left)} left:\n{tails}")
        time.sleep(POLL_S)


def durable_cost(count: int, rounds: int) -> dict:
    """Submissions per second with and without WAIT for one replica (primary + replica), the
    best of ``rounds`` interleaved rounds each."""
    primary = RedisServer().start()
    replica = ConfiguredServer(options=("--replicaof", "127.0.0.1", str(primary.port))).start()
    try:
        wait_for(lambda: in_sync(replica), timeout_ms=30_000, what="the replica in sync")
        out: dict[str, float] = {}
        for durable in [False, True] * rounds:
            backend = RedisBackend(primary.url, namespace=f"durable{int(durable)}", durable=durable)
            backend.submit(Message("warm", queue="d"))
            started = time.perf_counter()
            for _ in range(count):
                backend.submit(Message("t", queue="d"))
            single = time.perf_counter() - started
            batch = [(Message("t", queue="d"), NO_EFFECTS) for _ in range(count)]
            started = time.perf_counter()
            for start in range(0, count, BATCH):
                backend.submit_many(batch[start : start + BATCH])
            many = time.perf_counter() - started
            for kind, seconds in (("submit/s", single), ("batched submit/s", many)):
                name = f"{kind} durable={durable}"
                out[name] = max(out.get(name, 0.0), count / seconds)
            backend.clear_namespace()
            backend.close()
        return out
    finally:
        replica.stop()
        primary.stop()


def measure_round(args: Any, logdir: Path) -> list[dict]:
    """One drain on each topology: one server, a cluster of one primary, of three."""
    runs = []
    with RedisServer() as server:
        runs.append(drain("1 server", server.url, [("127.0.0.1", server.port)], args, logdir))
    for primaries in (1, 3):
        with LocalCluster(primaries=primaries, replicas_per_primary=0) as cluster:
            label = f"cluster, {primaries} primar{'y' if primaries == 1 else 'ies'}"
            runs.append(drain(label, cluster.url, cluster.primaries(), args, logdir))
    return runs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", type=int, default=30_000, help="tasks per drain (default 30000)")
    p.add_argument("--queues", type=int, default=3, help="queues, one worker process each")
    p.add_argument("--durable-submits", type=int, default=2_000)
    p.add_argument("--repeat", type=int, default=2, help="rounds; the best of them is shown")
    p.add_argument("--no-results", action="store_true", help="print only")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    logdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rounds = [measure_round(args, logdir) for _ in range(max(1, args.repeat))]
    runs = [max(same, key=lambda run: run["rate"]) for same in zip(*rounds, strict=True)]
    durable = durable_cost(args.durable_submits, max(1, args.repeat))
    info = machine_info()
    info["load average (1/5/15 min) at the start"] = load_at_start
    info["rounds (best of)"] = str(max(1, args.repeat))
    command = "python -m bench.scale " + " ".join(sys.argv[1:] if argv is None else argv)
    body = scale_report.section(runs, durable, info, command, CORES, MACHINES)
    print(body)
    if not args.no_results:
        results_md.write_section("scale", body)
        print(f"\nrecorded in {results_md.RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
