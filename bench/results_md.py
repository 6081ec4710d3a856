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
        f"No-op tasks (one `INCR` each), backlog of {tasks:,} tasks per drain; latency on idle config-A "
        "workers, from the return of the enqueue call to the first line of the task body (and, in "
        "its own column, from just before the enqueue call); Redis commands "
        "per task from INFO commandstats over enqueue + drain in config A (harness commands removed; "
        "this counts commands run inside Lua scripts and MULTI/EXEC too); \"sent by clients\" leaves "
        "out the commands run inside scripts (from a separate, untimed MONITOR pass); RSS summed over "
        "the worker process tree at the end of the drain. A load average above the core count means "
        "other work shared the CPUs during the run: compare systems within one run, not across runs.",
        report.markdown_table(report.table_rows(results)),
        "### Targets (issue #3)",
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
