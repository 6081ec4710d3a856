"""The options of the ``alsek`` commands.

One style: ``--dashed-names``. Each option also answers to its underscored spelling
(``--n_threads``), the guided tour's, so that every command written for it still works; the
help shows both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from alsek.app.settings import LOG_FORMATS, LOG_LEVELS, WorkerSettings

_DEFAULTS = WorkerSettings()
#: Settings given as ``--name/--no-name``: their False means "off", not "not given".
SWITCHES = ("pin_cpus",)

F = Callable[..., Any]


def spellings(name: str) -> tuple[str, ...]:
    """The option names of the setting ``name``: ``--dashed`` then ``--underscored`` (when they
    differ), then the setting's own name as click's destination."""
    dashed, underscored = "--" + name.replace("_", "-"), "--" + name
    return (dashed, underscored, name) if dashed != underscored else (dashed, name)


def option(
    name: str, *short: str, help: str, default: Any = None, **kwargs: Any
) -> Callable[[F], F]:
    """A click option for the setting ``name`` (both spellings; None when not given, so that
    the environment and the defaults decide), its ``default`` shown in the help."""
    shown = f" [default: {default}]" if default is not None else ""
    return click.option(*short, *spellings(name), default=None, help=help + shown, **kwargs)


def flag(name: str, *short: str, help: str) -> Callable[[F], F]:
    """A click flag for the boolean setting ``name`` (both spellings)."""
    return click.option(*short, *spellings(name), is_flag=True, default=None, help=help)


def connection_options(function: F) -> F:
    """Decorate a command with ``--redis-url`` and ``--namespace``."""
    options: list[Callable[[F], F]] = [
        option("redis_url", type=str,
               help="Redis to use (redis://, rediss://, unix://, redis+sentinel://, "
                    "redis+cluster://) [default: ALSEK_REDIS_URL, else localhost:6379]."),
        option("namespace", type=str,
               help="Key prefix of alsek's keys [default: ALSEK_NAMESPACE, else alsek]."),
    ]  # fmt: skip
    for each in reversed(options):
        function = each(function)
    return function


def common_options(function: F) -> F:
    """Decorate a pool command with the options both pools take."""
    options: list[Callable[[F], F]] = [
        click.argument("target", type=str),
        option("queues", "-qu", type=str,
               help="Comma-separated queues to consume, most preferred first "
                    "(default: every queue the tasks use, alphabetically)."),
        flag("task_specific_mode", "-tsm",
             help="Consume only those of --queues that some discovered task uses."),
        option("n_processes", type=int,
               help="Most processes (process-pool) or process groups (thread-pool) "
                    "[default: one per CPU]."),
        option("prefetch", type=int,
               help="Messages each worker process claims beyond its free threads, given back "
                    "to the queue when all of them stay busy for 50 ms; 0 claims only for "
                    "free threads [default: --n-threads (thread-pool), 32 (process-pool)]."),
        option("slot_wait_interval", type=int, default=_DEFAULTS.slot_wait_interval,
               help="How often (ms) the supervisor looks at the load."),
        option("consumer_backoff_factor", type=int, default=_DEFAULTS.consumer_backoff_factor,
               help="Idle consumers' wait grows by this much (ms) per pass that finds nothing; "
                    "a submission ends any wait at once."),
        option("consumer_backoff_floor", type=int, default=_DEFAULTS.consumer_backoff_floor,
               help="Shortest idle wait (ms)."),
        option("consumer_backoff_ceiling", type=int,
               default=_DEFAULTS.consumer_backoff_ceiling, help="Longest idle wait (ms)."),
        option("lease_ms", type=int, default=_DEFAULTS.lease_ms,
               help="Lease of a claimed message, renewed while it runs; a worker that dies has "
                    "its messages run elsewhere this long (ms) after its last heartbeat."),
        option("grace_period", type=int, default=_DEFAULTS.grace_period,
               help="On SIGTERM/SIGINT, how long (ms) running tasks may finish before they are "
                    "stopped and their messages released."),
        option("unknown_task_window", type=int, default=_DEFAULTS.unknown_task_window,
               help="How long (ms) a message of a task this worker does not know keeps being "
                    "given back to its queue (for a worker that knows it, e.g. during a "
                    "rolling deploy) before it is failed; 0 fails it at once."),
        option("start_method", type=click.Choice(["fork", "forkserver", "spawn"]),
               default=_DEFAULTS.start_method, help="How child processes start."),
        option("redis_url", type=str,
               help="Redis for tasks defined without a broker (@task(...)) or with a "
                    "RedisBackend() given no URL, in the supervisor and in every child process "
                    "[default: ALSEK_REDIS_URL, else localhost]. Tasks built with their own "
                    "URL keep it (the pool warns when it differs)."),
        option("namespace", type=str,
               help="Key prefix of the backend of tasks defined without a broker "
                    "[default: ALSEK_NAMESPACE, else alsek]."),
        option("metrics_port", type=int,
               help="Serve Prometheus metrics on this port (http://HOST:PORT/metrics); needs "
                    "pip install 'alsek[metrics]'."),
        option("registry_heartbeat_ms", type=int, default=_DEFAULTS.registry_heartbeat_ms,
               help="How often (ms) each worker process rewrites its record in the worker "
                    "registry (alsek workers); it expires after three times that; 0: none."),
        option("log_level", type=click.Choice(LOG_LEVELS, case_sensitive=False),
               default=_DEFAULTS.log_level,
               help="Logging level (debug also shows the traceback of a tasks module that "
                    "cannot be imported)."),
        option("log_format", type=click.Choice(LOG_FORMATS, case_sensitive=False),
               default=_DEFAULTS.log_format,
               help="text, or json: one JSON object per line (time, level, logger, message, "
                    "and task, uuid, attempt, exception, runtime_ms, traceback where known)."),
        click.option("--pin-cpus/--no-pin-cpus", "--pin_cpus/--no_pin_cpus", "pin_cpus",
                     default=None,
                     help="--pin-cpus: pin each child process that runs tasks (a thread-pool "
                          "process group, a process-pool process reused without limit) to one CPU "
                          "for good, in turn over the CPUs. --no-pin-cpus: never. Neither "
                          "[default]: a thread-pool process group (or a process-pool process "
                          "with --max-tasks-per-child 0) keeps to one CPU only while it is busy "
                          "with interpreter-bound work, where threads hand the interpreter lock "
                          "over 2-3x faster, and runs on every CPU when idle or when its tasks "
                          "run C code outside the lock on several threads (NumPy, hashing)."),
        flag("log_tasks",
             help="Log every run's start and success (with its run time) at INFO; failures "
                  "and retries are logged (WARNING/ERROR, with their traceback) anyway."),
    ]  # fmt: skip
    for each in reversed(options):
        function = each(function)
    return function
