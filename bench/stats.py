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


def command_usec(r: redis.Redis) -> dict[str, int]:
    """Microseconds Redis spent per command since the last CONFIG RESETSTAT (harness left out)."""
    out: dict[str, int] = {}
    for key, value in r.info("commandstats").items():
        name = key.removeprefix("cmdstat_")
        if name.split("|")[0] not in HARNESS_COMMANDS:
            out[name] = int(value["usec"])
    return out


def server_cpu_s(r: redis.Redis) -> float:
    """CPU seconds (user + system) the Redis server process has used so far (INFO cpu)."""
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def parser_name() -> str:
    """The reply parser redis-py uses in this process (every system runs with the same one)."""
    from redis.utils import HIREDIS_AVAILABLE

    return "hiredis" if HIREDIS_AVAILABLE else "python"
