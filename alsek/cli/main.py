"""``alsek``: start a worker pool for the tasks in a module, a file or a package; the admin
commands (``queues``, ``message``, ``dead-letters``, ``purge``, ``revoke``, ``workers``,
``dashboard``) live in their own modules, imported only when run (:mod:`alsek.cli.lazy`).

Exit codes of the pools: 0 stopped normally; 1 unexpected error; 2 bad usage or settings; 3 the tasks could
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
from alsek.cli import logs
from alsek.cli.banner import banner
from alsek.cli.lazy import LazyGroup
from alsek.cli.options import SWITCHES, common_options, flag, option
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

_EPILOG = (
    "TARGET is a module in the current directory (my_tasks or my_tasks.py), a dotted path "
    "(my_project.my_tasks) or a package (my_project, scanned recursively). The tasks carry their "
    "broker, so they say which Redis to use. Every option can also be set with an environment "
    "variable: ALSEK_ and the option's name in capitals (ALSEK_LEASE_MS=8000). Options take "
    "--dashed or --underscored names (--n-threads or --n_threads). Exit codes: "
    "0 stopped, 1 unexpected error, 2 bad usage, 3 tasks not importable or none found, "
    "4 Redis unreachable or unfit (damaged keys, too old)."
)


def _run(pool_kind: str, options: dict[str, Any]) -> None:
    # A flag that was not given is False; let the environment decide then (an on/off switch's
    # False is its --no- spelling).
    options = {k: (None if v is False and k not in SWITCHES else v) for k, v in options.items()}
    try:
        settings = WorkerSettings.from_env(pool=pool_kind, **options)
    except ValidationError as error:
        raise click.UsageError(str(error)) from error
    logs.configure(settings.log_level, settings.log_format, settings.log_tasks)
    log = logging.getLogger("alsek.cli")
    debug = log.isEnabledFor(logging.DEBUG)
    container = WorkerContainer(settings=providers.Object(settings))
    try:
        pool = container.pool()
        if log.isEnabledFor(logging.INFO):  # the banner reads the installed version: not free
            for line in banner(pool, settings):
                log.info("%s", line)
        pool.run()
    except (TaskDiscoveryError, NoTasksFoundError) as error:
        log.error("%s%s", error, "" if debug else " (--log-level debug shows the traceback)",
                  exc_info=debug)  # fmt: skip
        sys.exit(EXIT_IMPORT)
    except ValidationError as error:
        log.error("Invalid settings: %s", error, exc_info=debug)
        sys.exit(EXIT_USAGE)
    except BackendConnectionError as error:
        log.error("Cannot reach the backend: %s", error, exc_info=debug)
        sys.exit(EXIT_BACKEND)
    except BackendError as error:  # e.g. a queue's keys damaged by hand
        log.error("Cannot start on this backend: %s", error, exc_info=debug)
        sys.exit(EXIT_BACKEND)


#: The operators' commands, imported only when run: a worker launch does not load them.
_LAZY_COMMANDS = {
    "queues": "alsek.cli.admin:queues",
    "message": "alsek.cli.admin:message",
    "purge": "alsek.cli.admin:purge",
    "revoke": "alsek.cli.admin:revoke",
    "dead-letters": "alsek.cli.dead_letters:dead_letters",
    "workers": "alsek.cli.workers:workers",
    "dashboard": "alsek.cli.dashboard:dashboard",
}


@click.group(
    cls=LazyGroup,
    lazy=_LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="alsek")
def main() -> None:
    """alsek: run worker pools for your tasks, and look after their queues.

    \b
    Examples:
      alsek thread-pool my_tasks --n-threads 8 --n-processes 4
      alsek process-pool my_project.my_tasks -qu queue_a,queue_b
      alsek thread-pool my_project            (a package, scanned recursively)
      alsek queues                            (depths, leased, dead, oldest ready)
      alsek dead-letters list --exception ValueError
      alsek dead-letters requeue --queue math_ops --older-than 10m
    """


@main.command("thread-pool", epilog=_EPILOG)
@common_options
@option("n_threads", type=int, default=8, help="Threads per process group.")
@option("n_process_floor", type=int, default=1,
        help="Process groups kept running whatever the load.")  # fmt: skip
@flag(
    "complete_only_on_thread_exit",
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
    """Run tasks in threads: up to --n-processes process groups of --n-threads threads each,
    scaled up under load and pruned when idle."""
    _run("thread", options)


@main.command("process-pool", epilog=_EPILOG)
@common_options
@option("prune_interval", type=int, default=100,
        help="How often (ms) the supervisor checks deadlines and the zygote.")  # fmt: skip
@option(
    "max_tasks_per_child",
    type=int,
    default=1,
    help="Messages one task process runs before a fresh one is forked: 1 gives every task a "
    "fresh process (isolation), more reuses it (faster for tiny tasks), 0 means no limit.",
)
def process_pool(**options: Any) -> None:  # fmt: skip
    """Run each task in a fresh process of its own (forked from a warm process that has imported
    the tasks), up to --n-processes at once; a task that times out or crashes takes only its own
    process with it."""
    _run("process", options)


if __name__ == "__main__":  # pragma: no cover
    main()
