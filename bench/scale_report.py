"""The ``scale`` section of bench/RESULTS.md: tables, projection and what limits scaling here."""

from __future__ import annotations

from bench import report


def _projection(run: dict, cores: int) -> float:
    """Tasks/s of one machine of ``cores`` cores running one shard (its Redis on one core) and
    workers on the others, from the CPU each task cost here."""
    redis_ms = max(run["redis_ms_per_task"].values())
    worker_ms = run["worker_ms_per_task"]
    return min(1000 / redis_ms, (cores - 1) * 1000 / worker_ms)


def section(
    runs: list[dict],
    durable: dict[str, float],
    info: dict[str, str],
    command: str,
    cores: tuple[int, ...],
    machines: tuple[int, ...],
) -> str:
    """Markdown of the scale run."""
    header = ["topology", "primaries", "tasks (measured)", "enqueue/s", "drain tasks/s",
              "Redis CPU ms/task (all)", "Redis CPU ms/task per shard (tasks on it)",
              "worker CPU ms/task"]  # fmt: skip
    rows = [header]
    for run in runs:
        shards = ", ".join(
            f"{ms:.3f} ({run['tasks_per_primary'][name]:,})"
            for name, ms in run["redis_ms_per_task"].items()
        )
        rows.append([
            run["label"], str(run["primaries"]), f"{run['tasks']:,} ({run['measured']:,})",
            f"{run['enqueue_rate']:,.0f}", f"{run['rate']:,.0f}",
            f"{run['redis_ms_per_task_all']:.3f}", shards, f"{run['worker_ms_per_task']:.3f}",
        ])  # fmt: skip
    sharded = runs[-1]
    projection = [["machines", *(f"{c} cores each" for c in cores)]]
    for n in machines:
        projection.append([str(n), *(f"{n * _projection(sharded, c):,.0f}" for c in cores)])
    durable_rows = [["submission", "durable=False", "durable=True (WAIT 1 replica)", "cost"]]
    for kind in ("submit/s", "batched submit/s"):
        off, on = durable[f"{kind} durable=False"], durable[f"{kind} durable=True"]
        extra_us = 1e6 / on - 1e6 / off
        durable_rows.append([kind.replace("/s", ""), f"{off:,.0f}/s", f"{on:,.0f}/s",
                             f"{on / off:.2f}× ({extra_us:+.0f} µs per message)"])  # fmt: skip
    one, single_shard, many = runs[0], runs[1], runs[-1]
    total_ms = many["redis_ms_per_task_all"] + many["worker_ms_per_task"]
    busiest = max(many["redis_ms_per_task"].values()) * many["rate"] / many["primaries"] / 1000
    limits = (
        f"Every topology here shares the same {info.get('nproc', '?')} cores. Per task the "
        f"workers spent {many['worker_ms_per_task']:.3f} ms of CPU and Redis "
        f"{many['redis_ms_per_task_all']:.3f} ms over all shards, {total_ms:.3f} ms together: "
        f"two cores cannot drain more than about {2000 / total_ms:,.0f} tasks/s, however many "
        "shards there are. At the three-shard rate each Redis process was busy about "
        f"{busiest:.0%} of one core: the Python workers, not Redis, use up the machine, and "
        "sharding spreads Redis' single-threaded work, which pays once a Redis process needs a "
        f"core of its own. One server drained {one['rate']:,.0f} tasks/s, a one-primary cluster "
        f"{single_shard['rate']:,.0f} (the cluster client's routing costs the workers "
        f"{single_shard['worker_ms_per_task'] - one['worker_ms_per_task']:+.3f} ms per task), "
        f"three primaries {many['rate']:,.0f}; runs on this shared machine move by 10-30 %. "
        "The projection is what sharding is for: each machine runs one shard (one core) and "
        "workers on the others, queues spread evenly by hash tag (no key of a queue on two "
        "shards, no script across shards), so machines add up; a machine gives the smaller "
        "of its shard's capacity (1000 / Redis ms per task) and its workers' "
        "((cores - 1) × 1000 / worker ms per task)."
    )
    parts = [
        f"## Scale: one server vs Redis Cluster shards ({info['date']})",
        "\n".join([f"- command: `{command}`", *(f"- {k}: {v}" for k, v in info.items())]),
        f"Best of {info.get('rounds (best of)', '1')} rounds per topology. "
        f"{many['tasks']:,} no-op tasks over {many['queues']} queues (one worker process of 8 "
        "threads per queue, started on the full backlog); drain rate over what was left once "
        "every worker had begun (in parentheses) until the queues were empty; Redis CPU from `INFO cpu` of each primary over the drain, divided by the "
        "tasks of the queues it serves.",
        report.markdown_table(rows),
        "### Projection for N machines (one shard and its workers per machine)",
        report.markdown_table(projection),
        "### What limits scaling on this machine",
        limits,
        "### Durable submissions (`RedisBackend(..., durable=True)`: `WAIT` for 1 replica)",
        "Primary and replica on this machine (loopback): the cost is the replica's "
        "acknowledgement, sent in the same round trip as the submission.",
        report.markdown_table(durable_rows),
    ]
    return "\n\n".join(parts)
