"""The options shared by ``alsek thread-pool`` and ``alsek process-pool``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from alsek.app.settings import LOG_LEVELS, WorkerSettings

_DEFAULTS = WorkerSettings()

F = Callable[..., Any]


def _option(*names: str, help: str, default: Any = None, **kwargs: Any) -> Callable[[F], F]:
    shown = f" [default: {default}]" if default is not None else ""
    return click.option(*names, default=None, help=help + shown, **kwargs)


def common_options(function: F) -> F:
    """Decorate a pool command with the options both pools take."""
    options: list[Callable[[F], F]] = [
        click.argument("target", type=str),
        _option("-qu", "--queues", type=str,
                help="Comma-separated queues to consume, most preferred first "
                     "(default: every queue the tasks use, alphabetically)."),
        click.option("-tsm", "--task_specific_mode", is_flag=True, default=None,
                     help="Consume only those of --queues that some discovered task uses."),
        _option("--n_processes", type=int,
                help="Most processes (process-pool) or process groups (thread-pool) "
                     "[default: one per CPU]."),
        _option("--prefetch", type=int,
                help="Messages each worker process claims beyond its free threads, given back "
                     "to the queue when all of them stay busy for 50 ms; 0 claims only for "
                     "free threads [default: --n_threads (thread-pool), 32 (process-pool)]."),
        _option("--slot_wait_interval", type=int, default=_DEFAULTS.slot_wait_interval,
                help="How often (ms) the supervisor looks at the load."),
        _option("--consumer_backoff_factor", type=int,
                default=_DEFAULTS.consumer_backoff_factor,
                help="Idle consumers' wait grows by this much (ms) per pass that finds nothing; "
                     "a submission ends any wait at once."),
        _option("--consumer_backoff_floor", type=int, default=_DEFAULTS.consumer_backoff_floor,
                help="Shortest idle wait (ms)."),
        _option("--consumer_backoff_ceiling", type=int,
                default=_DEFAULTS.consumer_backoff_ceiling, help="Longest idle wait (ms)."),
        _option("--lease_ms", type=int, default=_DEFAULTS.lease_ms,
                help="Lease of a claimed message, renewed while it runs; a worker that dies has "
                     "its messages run elsewhere this long (ms) after its last heartbeat."),
        _option("--grace_period", type=int, default=_DEFAULTS.grace_period,
                help="On SIGTERM/SIGINT, how long (ms) running tasks may finish before they are "
                     "stopped and their messages released."),
        _option("--unknown_task_window", type=int, default=_DEFAULTS.unknown_task_window,
                help="How long (ms) a message of a task this worker does not know keeps being "
                     "given back to its queue (for a worker that knows it, e.g. during a "
                     "rolling deploy) before it is failed; 0 fails it at once."),
        _option("--start_method", type=click.Choice(["fork", "forkserver", "spawn"]),
                default=_DEFAULTS.start_method, help="How child processes start."),
        _option("--redis-url", "redis_url", type=str,
                help="Redis for tasks defined without a broker (@task(...)), in the supervisor "
                     "and in every child process [default: ALSEK_REDIS_URL, else localhost]. "
                     "Tasks built with their own broker keep it."),
        _option("--metrics-port", "metrics_port", type=int,
                help="Serve Prometheus metrics on this port (http://HOST:PORT/metrics); needs "
                     "pip install 'alsek[metrics]'."),
        _option("--registry-heartbeat-ms", "registry_heartbeat_ms", type=int,
                default=_DEFAULTS.registry_heartbeat_ms,
                help="How often (ms) each worker process rewrites its record in the worker "
                     "registry (alsek workers); it expires after three times that; 0: none."),
        _option("--log-level", "log_level", type=click.Choice(LOG_LEVELS, case_sensitive=False),
                default=_DEFAULTS.log_level, help="Logging level."),
    ]  # fmt: skip
    for option in reversed(options):
        function = option(function)
    return function
