"""Turn per-system results into the comparison table, the target checks and RESULTS.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ALSEK = "alsek"


@dataclass(frozen=True)
class Metric:
    """One column of the table."""

    title: str
    get: Callable[[dict], float | None]
    higher_is_better: bool
    fmt: str = "{:,.0f}"


def _cfg(result: dict, config: str, key: str) -> float | None:
    value = result.get("configs", {}).get(config, {}).get(key)
    return value if isinstance(value, (int, float)) else None


def _latency(result: dict, key: str) -> float | None:
    return result.get("configs", {}).get("A", {}).get("latency", {}).get(key)


def cmds_per_task(result: dict, config: str = "A") -> dict[str, float] | None:
    """Redis commands per task: enqueue side, worker side, total, and beyond the task's own INCR."""
    cfg = result.get("configs", {}).get(config, {})
    tasks = result.get("tasks")
    if "worker_cmds" not in cfg or not tasks:
        return None
    enq = sum(cfg["enqueue_cmds"].values()) / tasks
    work = sum(cfg["worker_cmds"].values()) / tasks
    return {"enqueue": enq, "worker": work, "total": enq + work, "non_task": enq + work - 1}


def _cmds(result: dict, key: str) -> float | None:
    per = cmds_per_task(result)
    return per[key] if per else None


def _enqueue(result: dict) -> float | None:
    rates = [_cfg(result, c, "enqueue_rate") for c in ("A", "B")]
    rates = [r for r in rates if r]
    return max(rates) if rates else None


def _floor_ratio(result: dict) -> float | None:
    """Enqueue rate ÷ the bare redis-py INCR loop measured just before it (best of each)."""
    incr = [_cfg(result, c, "incr_rate") for c in ("A", "B")]
    incr = [r for r in incr if r]
    mine = _enqueue(result)
    return mine / max(incr) if incr and mine else None


METRICS = [
    Metric("enqueue/s", _enqueue, True),
    Metric("enqueue ÷ bare INCR loop", _floor_ratio, True, "{:.2f}"),
    Metric("batch enqueue/s", lambda r: r.get("enqueue_batch_rate"), True),
    Metric("drain/s A (1 proc × 8)", lambda r: _cfg(r, "A", "rate"), True),
    Metric("drain/s B (2 procs)", lambda r: _cfg(r, "B", "rate"), True),
    Metric("latency p50 ms", lambda r: _latency(r, "p50_ms"), False, "{:.2f}"),
    Metric("latency p99 ms", lambda r: _latency(r, "p99_ms"), False, "{:.2f}"),
    Metric("p50 ms incl. enqueue call", lambda r: _latency(r, "call_p50_ms"), False, "{:.2f}"),
    Metric("Redis CPU ms/task A", lambda r: _cfg(r, "A", "redis_cpu_ms_per_task"), False, "{:.3f}"),
    Metric("Redis CPU ms/task B", lambda r: _cfg(r, "B", "redis_cpu_ms_per_task"), False, "{:.3f}"),
    Metric("Redis cmds/task", lambda r: _cmds(r, "total"), False, "{:.2f}"),
    Metric("sent by clients/task", lambda r: r.get("monitor", {}).get("client_total"), False, "{:.2f}"),
    Metric("worker CPU ms/task A", lambda r: _cfg(r, "A", "cpu_ms_per_task"), False, "{:.2f}"),
    Metric("worker CPU ms/task B", lambda r: _cfg(r, "B", "cpu_ms_per_task"), False, "{:.2f}"),
    Metric("RSS MB A", lambda r: _cfg(r, "A", "rss_mb"), False, "{:.0f}"),
    Metric("RSS MB B", lambda r: _cfg(r, "B", "rss_mb"), False, "{:.0f}"),
]


def best_peer(results: list[dict], metric: Metric) -> tuple[str, float] | None:
    """The best peer (not alsek) on ``metric``: its name and value."""
    values = [(r["system"], metric.get(r)) for r in results if not r["system"].startswith(ALSEK)]
    values = [(name, v) for name, v in values if v is not None]
    if not values:
        return None
    pick = max if metric.higher_is_better else min
    return pick(values, key=lambda item: item[1])


def _cell(result: dict, metric: Metric) -> str:
    if result.get("status") != "ok":
        return "n/a"
    value = metric.get(result)
    return "-" if value is None else metric.fmt.format(value)


def _ratio_cell(value: float | None, best: float | None) -> str:
    """``value ÷ best``; a negative latency (the task started before the enqueue call returned)
    has no meaningful ratio and says so."""
    if not best or value is None:
        return "n/a"
    if value < 0 < best:
        return "ahead of the call"
    return f"{value / best:.2f}×"


def table_rows(results: list[dict]) -> list[list[str]]:
    """Header, one row per system, the best peer and the alsek ÷ best-peer ratio."""
    rows = [["system", *[m.title for m in METRICS]]]
    for r in results:
        status = r.get("status", "?")
        name = r["system"] if status == "ok" else f"{r['system']}: {status.split(':')[0]}"
        rows.append([name, *[_cell(r, m) for m in METRICS]])
    best_row = ["best peer"]
    for m in METRICS:
        best = best_peer(results, m)
        best_row.append("-" if best is None else f"{m.fmt.format(best[1])} ({best[0]})")
    ratio_rows = []
    for mine in [r for r in results if r["system"].startswith(ALSEK) and r.get("status") == "ok"]:
        row = [f"{mine['system']} ÷ best peer"]
        for m in METRICS:
            best, value = best_peer(results, m), m.get(mine)
            row.append(_ratio_cell(value, best[1] if best else None))
        ratio_rows.append(row)
    return [*rows, best_row, *ratio_rows]


def markdown_table(rows: list[list[str]]) -> str:
    """Rows as a GitHub markdown table (first row is the header)."""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def text_table(rows: list[list[str]]) -> str:
    """Rows as an aligned plain-text table, transposed (one column per system) to fit a terminal."""
    transposed = [list(col) for col in zip(*rows, strict=False)]
    width = [max(len(row[i]) for row in transposed) for i in range(len(transposed[0]))]
    return "\n".join("  ".join(c.ljust(width[i]) for i, c in enumerate(row)).rstrip() for row in transposed)


def _metric(title: str) -> Metric:
    return next(m for m in METRICS if m.title == title)


def config_rate(result: dict, config: str) -> float | None:
    """The drain rate of ``result`` in ``config`` (boot counted), if measured."""
    return _cfg(result, config, "rate") if result.get("status") == "ok" else None


def lead(results: list[dict], name: str, config: str) -> tuple[float, str] | None:
    """System ``name``'s drain rate in ``config`` ÷ the best peer's, and that peer."""
    m = _metric("drain/s A (1 proc × 8)" if config == "A" else "drain/s B (2 procs)")
    me, best = _system(results, name), best_peer(results, m)
    mine = m.get(me) if me else None
    return (mine / best[1], best[0]) if mine and best and best[1] else None


def _system(results: list[dict], name: str) -> dict | None:
    return next((r for r in results if r["system"] == name and r.get("status") == "ok"), None)


def targets(results: list[dict], soak: list[dict] | None = None) -> list[list[str]]:
    """Issue 14's targets for alsek: [target, measured, verdict] rows."""
    alsek = _system(results, ALSEK)
    rows = [["target", "measured", "verdict"]]

    def add(goal: str, mine: float | None, other: float | None, text: str, ok: bool) -> None:
        if mine is None or other is None:
            rows.append([goal, "n/a", "n/a"])
        else:
            rows.append([goal, text, "PASS" if ok else "FAIL"])

    def ratio(title: str, factor: float, system: str = ALSEK, goal: str = "") -> None:
        m, me = _metric(title), _system(results, system)
        best, mine = best_peer(results, m), (m.get(me) if me else None)
        got = mine / best[1] if mine is not None and best else 0.0
        add(goal or f"{title} ≥ {factor:g}× best peer", mine, best[1] if best else None,
            f"{m.fmt.format(mine or 0)} = {got:.2f}× {best[0] if best else '-'}", got >= factor)

    def versus(title: str, peer: str, factor: float) -> None:
        m, other = _metric(title), _system(results, peer)
        mine, theirs = (m.get(alsek) if alsek else None), (m.get(other) if other else None)
        add(f"{title} ≤ {factor:g}× {peer}'s", mine, theirs,
            f"{m.fmt.format(mine or 0)} vs {m.fmt.format(theirs or 0)}",
            mine is not None and theirs is not None and mine <= factor * theirs)

    ratio("drain/s A (1 proc × 8)", 3, goal="drain/s A (1 proc × 8, boot counted) ≥ 3× best peer")
    ratio("drain/s B (2 procs)", 3, goal="drain/s B, default (fresh process per task) ≥ 3× best peer")
    if alsek and alsek.get("fork_floor") and rows[-1][1] != "n/a":
        floor_b = 2 * alsek["fork_floor"]
        rows[-1][1] += (f" (ceiling of a fresh process per task here: 2 cores × {alsek['fork_floor']:,.0f} "
                        f"fork+exit+reap/s = {floor_b:,.0f}/s with no task, pipe or connection in it)")
    ratio("drain/s B (2 procs)", 3, "alsek-reuse", "drain/s B, processes reused ≥ 3× best peer")
    ratio("drain/s A (1 proc × 8)", 3, "alsek-pinned", "drain/s A, --pin-cpus ≥ 3× best peer")
    ratio("drain/s B (2 procs)", 3, "alsek-pinned", "drain/s B, reused + --pin-cpus ≥ 3× best peer")
    ratio("drain/s B (2 procs)", 3, "alsek-groups",
          "drain/s B, thread pool of 2 process groups × 8 (Dramatiq's B shape) ≥ 3× best peer")
    floor = _metric("enqueue ÷ bare INCR loop").get(alsek) if alsek else None
    cfg = alsek.get("configs", {}).get("A", {}) if alsek else {}
    server = ""
    if cfg.get("enqueue_server_us") is not None and cfg.get("incr_server_us") is not None:
        server = (f" (Redis CPU per call: {cfg['enqueue_server_us']:.1f} µs for a submission, "
                  f"{cfg['incr_server_us']:.1f} µs for an INCR)")
    add("generate() ≥ 0.8× a bare redis-py INCR loop (same run)", floor, floor,
        f"{floor or 0:.2f}×{server}", (floor or 0) >= 0.8)
    ratio("batch enqueue/s", 2)
    versus("latency p50 ms", "huey", 0.6)
    versus("latency p99 ms", "huey", 1.0)
    m = _metric("Redis CPU ms/task A")
    lean, mine = best_peer(results, m), (m.get(alsek) if alsek else None)
    add("Redis server CPU per acknowledged task (config A) ≤ the leanest peer's", mine,
        lean[1] if lean else None, f"{mine or 0:.3f} ms vs {lean[1] if lean else 0:.3f} ms ({lean[0] if lean else '-'})",
        lean is not None and mine is not None and mine <= lean[1])
    sent = alsek.get("monitor", {}).get("client_total") if alsek else None
    add("requests sent by clients per task beyond the task's own ≤ 1.3", sent, sent,
        f"{(sent or 1) - 1:.2f}", sent is not None and sent - 1 <= 1.3)
    mine_soak = next((s for s in soak or [] if s["system"] == ALSEK and s.get("status") == "ok"), None)
    goal = "RSS flat over a 100,000-task run (growth ≤ 10% after warm-up)"
    if mine_soak is None:
        rows.append([goal, "not in this run: see the RSS soak section (python -m bench.run --soak-only --soak 100000)", "n/a"])
    else:
        rows.append([goal, f"{mine_soak['tasks']:,} tasks: {mine_soak['summary']}", "PASS" if mine_soak["flat"] else "FAIL"])
    return rows


def config_rows(results: list[dict]) -> list[list[str]]:
    """How each system was run in each config."""
    rows = [["system", "version", "config A (1 process × 8)", "config B (2 processes)"]]
    for r in results:
        labels = r.get("labels", {})
        rows.append([r["system"], r.get("version", "-"), labels.get("A", "-"), labels.get("B", "-")])
    return rows


def detail_rows(results: list[dict]) -> list[list[str]]:
    """Per system and config: Redis commands per task by command, start-up time, errors."""
    rows = [["system", "config", "processes", "startup s", "steady drain/s", "Redis cmd µs/task", "enqueue cmds/task", "worker cmds/task (by command)"]]
    for r in results:
        tasks = r.get("tasks") or 1
        for config, cfg in r.get("configs", {}).items():
            if "error" in cfg:
                rows.append([r["system"], config, "-", "-", "-", "-", "-", "ERROR: " + cfg["error"].splitlines()[0]])
                continue
            enq = ", ".join(f"{k} {v / tasks:.2f}" for k, v in _top(cfg.get("enqueue_cmds", {})))
            work = ", ".join(f"{k} {v / tasks:.2f}" for k, v in _top(cfg.get("worker_cmds", {})))
            steady, us = cfg.get("steady_rate"), cfg.get("redis_cmd_us_per_task")
            rows.append([r["system"], config, str(cfg.get("processes", "-")), f"{cfg.get('startup_s', 0):.2f}",
                         f"{steady:,.0f}" if steady else "-", f"{us:.1f}" if us is not None else "-", enq, work])
    return rows


def _top(counts: dict[str, int], n: int = 10) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: -kv[1])[:n]


def monitor_rows(results: list[dict]) -> list[list[str]]:
    """Commands per task from the MONITOR pass: sent by clients vs run inside scripts, by side."""
    rows = [["system", "sample", "enqueue: sent", "enqueue: in scripts", "worker: sent", "worker: in scripts"]]
    for r in results:
        m = r.get("monitor")
        if m:
            rows.append([r["system"], f"{m['tasks']:,}", *[f"{m[k]:.2f}" for k in
                         ("enqueue_client", "enqueue_script", "worker_client", "worker_script")]])
    return rows
