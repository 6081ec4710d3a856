"""What the benchmark ran on: cores, CPU, Python, Redis and package versions."""

from __future__ import annotations

import datetime
import os
import platform

from bench.redis_server import server_version
from bench.systems.base import version_of

PACKAGES = ["alsek", "rq", "dramatiq", "celery", "kombu", "huey", "redis", "hiredis", "psutil"]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "-"


def machine_info() -> dict[str, str]:
    """Facts worth printing next to the numbers."""
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "redis-server": server_version(),
        "bytecode": "alsek's and the task modules' .pyc compiled before any launch (pip does it for every peer)",
        "load average (1/5/15 min) at the end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    info.update({f"{p}": version_of(p) for p in PACKAGES})
    return info
