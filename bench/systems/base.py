"""The interface every benchmarked system implements."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

#: Config A: one worker process running 8 tasks at once (threads).
CONFIG_A = "A"
#: Config B: two worker processes, one task at a time each.
CONFIG_B = "B"
CONFIGS = (CONFIG_A, CONFIG_B)

BIN_DIR = Path(sys.executable).parent


def script(name: str) -> str:
    """Path of a console script installed next to the running interpreter."""
    return str(BIN_DIR / name)


def version_of(dist: str) -> str:
    """Installed version of a distribution, or ``"-"``."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


class System:
    """A task queue under test.

    The harness calls :meth:`setup` once in the measuring process (which imports
    the system's task module), then the ``enqueue_*`` methods there, and starts
    workers as subprocesses from :meth:`worker_argv`.
    """

    #: Short name used on the command line and in the table.
    name = ""
    #: Distribution whose version is reported.
    dist = ""
    #: How each config is run for this system, as shown under the table.
    labels: dict[str, str] = {}
    #: Extra remarks for the results page.
    notes: list[str] = []
    #: Whether its config B forks a fresh process per task (the fork floor is measured then).
    forks_per_task = False
    #: The configs this system is measured in.
    configs: tuple[str, ...] = CONFIGS

    def unavailable_reason(self) -> str | None:
        """Why this system cannot run here, or ``None`` when it can."""
        return None

    def version(self) -> str:
        """Version string to report."""
        return version_of(self.dist)

    def setup(self) -> None:
        """Import the task module and build whatever enqueueing needs."""
        raise NotImplementedError

    def enqueue_noop(self, n: int) -> None:
        """Enqueue ``n`` no-op tasks one call at a time (the timed loop)."""
        raise NotImplementedError

    def enqueue_noop_batch(self, n: int) -> bool:
        """Enqueue ``n`` no-op tasks with the system's batch API; ``False`` if it has none."""
        return False

    def enqueue_stamp(self) -> None:
        """Enqueue one latency task."""
        raise NotImplementedError

    def worker_argv(self, config: str) -> list[str]:
        """Command line that starts this system's workers in ``config``."""
        raise NotImplementedError

    def worker_env(self) -> dict[str, str]:
        """Extra environment for the worker processes."""
        return {}
