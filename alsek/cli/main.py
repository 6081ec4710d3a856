"""``alsek``: start a worker pool for the tasks in a module, a file or a package.

Exit codes: 0 stopped normally; 1 unexpected error; 2 bad usage or settings; 3 the tasks could
not be imported (or none were found); 4 the backend (Redis) could not be reached at start, or
cannot serve the queues (a damaged key, a server too old).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click
from dependency_injector import providers

from alsek.app.discovery import TaskDiscoveryError
from alsek.app.settings import WorkerSettings
from alsek.app.worker_container import WorkerContainer
from alsek.cli.options import common_options
from alsek.domain.model.errors import (
    BackendConnectionError,
    BackendError,
    NoTasksFoundError,
    ValidationError,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_IMPORT = 3
EXIT_BACKEND = 4

_LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
_EPILOG = (
    "TARGET is a module in the current directory (my_tasks or my_tasks.py), a dotted path "
    "(my_project.my_tasks) or a package (my_project, scanned recursively). The tasks carry their "
    "broker, so they say which Redis to use. Every option can also be set with an environment "
    "variable: ALSEK_ and the option's name in capitals (ALSEK_LEASE_MS=8000). Exit codes: "
    "0 stopped, 1 unexpected error, 2 bad usage, 3 tasks not importable or none found, "
    "4 Redis unreachable or unfit (damaged keys, too old)."
)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper()), format=_LOG_FORMAT, force=True)


def _run(pool_kind: str, options: dict[str, Any]) -> None:
    # A flag that was not given is False; let the environment decide then.
    options = {k: (None if v is False else v) for k, v in options.items()}
    try:
        settings = WorkerSettings.from_env(pool=pool_kind, **options)
    except ValidationError as error:
        raise click.UsageError(str(error)) from error
    _configure_logging(settings.log_level)
    log = logging.getLogger("alsek.cli")
    container = WorkerContainer(settings=providers.Object(settings))
    try:
        pool = container.pool()
        pool.run()
    except (TaskDiscoveryError, NoTasksFoundError) as error:
        log.error("%s", error)
        sys.exit(EXIT_IMPORT)
    except ValidationError as error:
        log.error("Invalid settings: %s", error)
        sys.exit(EXIT_USAGE)
    except BackendConnectionError as error:
        log.error("Cannot reach the backend: %s", error)
        sys.exit(EXIT_BACKEND)
    except BackendError as error:  # e.g. a queue's keys damaged by hand
        log.error("Cannot start on this backend: %s", error)
        sys.exit(EXIT_BACKEND)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="alsek")
def main() -> None:
    """alsek: start a pool of workers for your tasks.

    \b
    Examples:
      alsek thread-pool my_tasks --n_threads 8 --n_processes 4
      alsek process-pool my_project.my_tasks -qu queue_a,queue_b
      alsek thread-pool my_project            (a package, scanned recursively)
    """


@main.command("thread-pool", epilog=_EPILOG)
@common_options
@click.option("--n_threads", type=int, default=None, help="Threads per process group [default: 8].")
@click.option(
    "--n_process_floor",
    type=int,
    default=None,
    help="Process groups kept running whatever the load [default: 1].",
)
@click.option(
    "--complete_only_on_thread_exit",
    is_flag=True,
    default=None,
    help="After a timeout or revocation, keep the thread's slot until its task really "
    "unwinds, instead of abandoning a thread that stays stuck for a second.",
)
@click.option(
    "--async-concurrency",
    "--async_concurrency",
    "async_concurrency",
    type=int,
    default=None,
    help="async def tasks each process group runs at once on its event loop, beside its "
    "threads [default: 100].",
)
def thread_pool(**options: Any) -> None:  # fmt: skip
    """Run tasks in threads: up to --n_processes process groups of --n_threads threads each,
    scaled up under load and pruned when idle."""
    _run("thread", options)


@main.command("process-pool", epilog=_EPILOG)
@common_options
@click.option(
    "--prune_interval",
    type=int,
    default=None,
    help="How often (ms) the supervisor checks deadlines and the zygote [default: 100].",
)
@click.option(
    "--max_tasks_per_child",
    type=int,
    default=None,
    help="Messages one task process runs before a fresh one is forked: 1 gives every task a "
    "fresh process (isolation), more reuses it (faster for tiny tasks), 0 means no limit "
    "[default: 1].",
)
def process_pool(**options: Any) -> None:  # fmt: skip
    """Run each task in a fresh process of its own (forked from a warm process that has imported
    the tasks), up to --n_processes at once; a task that times out or crashes takes only its own
    process with it."""
    _run("process", options)


if __name__ == "__main__":  # pragma: no cover
    main()
