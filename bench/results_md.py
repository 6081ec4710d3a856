"""bench/RESULTS.md: one section for the comparison, one for the soak; a run replaces only its own."""

from __future__ import annotations

import re
from pathlib import Path

from bench import report

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = """# alsek benchmark results

Written by `python -m bench.run` (`make bench`); do not edit by hand. How it measures:
`bench/README.md`.
"""


def _section(name: str, body: str) -> str:
    return f"<!-- bench:{name}:start -->\n{body.rstrip()}\n<!-- bench:{name}:end -->"


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) section ``name`` of the results page."""
    text = path.read_text() if path.exists() else HEADER
    block = _section(name, body)
    pattern = re.compile(rf"<!-- bench:{name}:start -->.*?<!-- bench:{name}:end -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text.rstrip()}\n\n{block}\n"
    path.write_text(text if text.endswith("\n") else text + "\n")


def _machine(info: dict[str, str], command: str) -> str:
    lines = [f"- command: `{command}`"] + [f"- {k}: {v}" for k, v in info.items()]
    return "\n".join(lines)


def main_section(results: list[dict], info: dict[str, str], command: str, soak: list[dict] | None) -> str:
    """Markdown for the comparison section."""
    tasks = next((r.get("tasks") for r in results if r.get("tasks")), "?")
    notes = [n for r in results for n in r.get("notes", [])]
    parts = [
        f"## Comparison ({info['date']})",
        _machine(info, command),
        f"No-op tasks (one `INCR` each), backlog of {tasks:,} tasks per drain, timed from the launch of "
        "the worker command to the last task (boot counted; the steady rate from the first task is in "
        "the details); every system runs with the same redis-py and reply parser; latency on idle config-A "
        "workers, from the return of the enqueue call to the first line of the task body (negative: "
        "the task started before the call returned; and, in "
        "its own column, from just before the enqueue call); Redis commands "
        "per task from INFO commandstats over enqueue + drain in config A (harness commands removed; "
        "this counts commands run inside Lua scripts and MULTI/EXEC too); \"sent by clients\" leaves "
        "out the commands run inside scripts (from a separate, untimed MONITOR pass); RSS summed over "
        "the worker process tree at the end of the drain. A load average above the core count means "
        "other work shared the CPUs during the run: compare systems within one run, not across runs. "
        "Redis CPU ms/task: the server's `used_cpu_user + used_cpu_sys` from the launch of the workers "
        "to the last task, ÷ tasks; \"enqueue ÷ bare INCR loop\": one-call-at-a-time enqueue ÷ a loop "
        "of bare redis-py `INCR` calls timed just before it in the same driver (the floor of one round "
        "trip per call).",
        report.markdown_table(report.table_rows(results)),
        "### Targets (issue 14)",
        report.markdown_table(report.targets(results, soak)),
        "### How each system was run",
        report.markdown_table(report.config_rows(results)),
        "### Redis commands per task, by command",
        report.markdown_table(report.detail_rows(results)),
        "### Commands sent by clients vs run inside scripts (MONITOR pass, config A)",
        report.markdown_table(report.monitor_rows(results)),
    ]
    skipped = [f"- {r['system']}: {r.get('status')}" for r in results if r.get("status") != "ok"]
    if skipped:
        parts += ["### Not measured", "\n".join(skipped)]
    if notes:
        parts += ["### Notes", "\n".join(f"- {n}" for n in notes)]
    return "\n\n".join(parts)


def soak_section(soak: list[dict], info: dict[str, str], command: str) -> str:
    """Markdown for the soak section."""
    rows = [["system", "config", "tasks", "tasks/s", "RSS per chunk (MB)", "verdict"]]
    for s in soak:
        if s.get("status") != "ok":
            rows.append([s["system"], s.get("label", "-"), f"{s.get('tasks', 0):,}", "-", s.get("status", "?"), "n/a"])
            continue
        curve = " → ".join(f"{x['rss_mb']:.0f}" for x in s["samples"])
        rows.append([s["system"], s["label"], f"{s['tasks']:,}", f"{s['rate']:,.0f}", curve,
                     f"{'flat' if s['flat'] else 'GROWS'} ({s['growth']:+.1%})"])
    return "\n\n".join([f"## RSS soak ({info['date']})", _machine(info, command), report.markdown_table(rows)])


def contention_section(quiet: list[dict], hogged: list[dict], info: dict[str, str], command: str) -> str:
    """Markdown for the contention section: the drains beside a CPU hog, and how much of its
    quiet rate (same run, when the run measured both) each system kept."""
    by_name = {r["system"]: r for r in quiet}
    rows = [["system", "drain/s A, hog", "A kept", "drain/s B, hog", "B kept"]]
    for r in hogged:
        cells = [r["system"]]
        for config in ("A", "B"):
            rate = report.config_rate(r, config)
            before = report.config_rate(by_name.get(r["system"], {}), config)
            cells += [f"{rate:,.0f}" if rate else "-", f"{rate / before:.0%}" if rate and before else "-"]
        rows.append(cells)
    ratios = [["alsek ÷ best peer", "config A quiet", "config A hog", "config B quiet", "config B hog"]]
    for name in [r["system"] for r in hogged if r["system"].startswith(report.ALSEK)]:
        cells = [name]
        for config in ("A", "B"):
            for results in (quiet, hogged):
                got = report.lead(results, name, config)
                cells.append(f"{got[0]:.2f}× ({got[1]})" if got else "-")
        ratios.append(cells)
    return "\n\n".join([
        f"## Contention: a CPU hog on one core ({info['date']})", _machine(info, command),
        "The same drains (boot counted) while `python -c 'while True: pass'` runs pinned to core 0; "
        "best of the rounds. \"kept\": the rate beside the hog ÷ the rate in the comparison above "
        "(same run).",
        report.markdown_table(rows), report.markdown_table(ratios),
    ])
