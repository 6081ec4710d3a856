"""Small numeric helpers shared by the harness."""

from __future__ import annotations

import math

import redis

#: Commands the harness itself sends around a measurement window; never charged to a system.
HARNESS_COMMANDS = ("info", "config", "flushall", "flushdb")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def commandstats(r: redis.Redis) -> dict[str, int]:
    """Calls per command since the last CONFIG RESETSTAT, harness commands left out."""
    out: dict[str, int] = {}
    for key, value in r.info("commandstats").items():
        name = key.removeprefix("cmdstat_")
        if name.split("|")[0] in HARNESS_COMMANDS:
            continue
        out[name] = int(value["calls"])
    return out
