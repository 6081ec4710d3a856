"""alsek: ``alsek thread-pool`` (config A) and ``alsek process-pool`` (config B).

Config B gives every task a fresh process (the default, ``--max_tasks_per_child 1``); the
``alsek-reuse`` system runs config B only, with ``--max_tasks_per_child 0`` (task processes
reused without limit), to show what the isolation costs; ``alsek-pinned`` runs config A and
the reused config B with ``--pin-cpus`` (each task-running process kept on one CPU for good);
``alsek-groups`` runs config B as a thread pool of two process groups of 8 threads, the shape of
Dramatiq's config B. ``alsek``'s config A and ``alsek-groups`` leave CPU affinity to the default
(a busy group keeps to one CPU while its work is interpreter-bound); ``alsek-free`` runs config
A with ``--no-pin-cpus``.

Everything about how alsek is invoked lives in this module: if the CLI grows a
different way to take the Redis URL, change :func:`redis_url_args` only.
"""

from __future__ import annotations

import functools
import importlib
import subprocess

from bench.systems.base import CONFIG_A, CONFIG_B, System, script
from bench.tasks._common import QUEUE, redis_url

MODULE = "bench.tasks.alsek_tasks"
#: The same tasks with ``mechanism="process"``: a pool runs only its own mechanism's tasks.
PROCESS_MODULE = "bench.tasks.alsek_process_tasks"
POOL_ARGS = {
    CONFIG_A: ["thread-pool", MODULE, "--n_processes", "1", "--n_threads", "8", "-qu", QUEUE],
    CONFIG_B: ["process-pool", PROCESS_MODULE, "--n_processes", "2", "-qu", QUEUE],
}
#: Config B as a thread pool: two process groups of 8 threads, both started at once.
GROUPS_ARGS = [
    "thread-pool", MODULE, "--n_processes", "2", "--n_process_floor", "2", "--n_threads", "8",
    "-qu", QUEUE,
]
#: Config B reusing task processes (no per-task fork).
REUSE_ARGS = ["--max_tasks_per_child", "0"]
#: Each task-running process kept on one CPU.
PIN_ARGS = ["--pin-cpus"]
HELP_TIMEOUT_S = 60
#: Messages per ``generate_many`` call (as RQ's ``enqueue_many`` batches in its module).
BATCH = 1000
NOT_BUILT = "n/a (not built)"


@functools.cache
def _help_text(command: str) -> tuple[int, str]:
    """Exit code and output of ``alsek <command> --help`` (bounded)."""
    try:
        done = subprocess.run(
            [script("alsek"), command, "--help"],
            capture_output=True, text=True, timeout=HELP_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return 1, str(e)
    return done.returncode, done.stdout + done.stderr


def quiet_args(command: str) -> list[str]:
    """Keep the pool's logging at WARNING, as the peers run (no per-task INFO lines)."""
    _, text = _help_text(command)
    return ["--log-level", "warning"] if "--log-level" in text else []


def redis_url_args(command: str) -> list[str]:
    """CLI arguments that point the pool at the benchmark's Redis, if the CLI takes any.

    The task module already builds its broker from ``BENCH_REDIS_URL``, and the
    workers also get ``ALSEK_REDIS_URL``; an explicit option is added only when
    ``--help`` lists one.
    """
    _, text = _help_text(command)
    for option in ("--redis-url", "--redis_url"):
        if option in text:
            return [option, redis_url()]
    return []


class AlsekSystem(System):
    """alsek through its public API and CLI."""

    name = "alsek"
    dist = "alsek"
    labels = {
        CONFIG_A: "alsek thread-pool --n_processes 1 --n_threads 8",
        CONFIG_B: "alsek process-pool --n_processes 2 (a fresh process per task)",
    }
    forks_per_task = True

    def unavailable_reason(self) -> str | None:
        for module in ("alsek.storage.backends.redis", "alsek.cli.main"):
            try:
                importlib.import_module(module)
            except Exception as e:  # noqa: BLE001 - anything here means "not built yet"
                return f"{NOT_BUILT}: cannot import {module} ({type(e).__name__}: {e})"
        try:
            from alsek import Broker, task  # noqa: F401
        except Exception as e:  # noqa: BLE001
            return f"{NOT_BUILT}: {type(e).__name__}: {e}"
        for args in POOL_ARGS.values():
            code, text = _help_text(args[0])
            if code != 0:
                last = text.strip().splitlines()[-1:] or ["no output"]
                return f"{NOT_BUILT}: `alsek {args[0]} --help` failed: {last[0]}"
        return None

    def setup(self) -> None:
        from bench.tasks import alsek_tasks

        self._tasks = alsek_tasks

    def enqueue_noop(self, n: int) -> None:
        generate = self._tasks.noop.generate
        for _ in range(n):
            generate()

    def enqueue_noop_batch(self, n: int) -> bool:
        generate_many, done = self._tasks.noop.generate_many, 0
        while done < n:  # batches of BATCH calls, as RQ's enqueue_many is run
            size = min(BATCH, n - done)
            generate_many([{}] * size)
            done += size
        return True

    def enqueue_stamp(self) -> None:
        self._tasks.stamp.generate()

    def worker_argv(self, config: str) -> list[str]:
        return self.command(POOL_ARGS[config])

    @staticmethod
    def command(args: list[str]) -> list[str]:
        """The ``alsek`` command line for the pool ``args``, pointed at the bench's Redis."""
        return [script("alsek"), *args, *redis_url_args(args[0]), *quiet_args(args[0])]

    def worker_env(self) -> dict[str, str]:
        return {"ALSEK_REDIS_URL": redis_url()}


class AlsekReuseSystem(AlsekSystem):
    """alsek's process pool with task processes reused (``--max_tasks_per_child 0``), config B
    only: the price of a fresh process per task is the difference with ``alsek``'s config B."""

    name = "alsek-reuse"
    labels = {
        CONFIG_B: "alsek process-pool --n_processes 2 --max_tasks_per_child 0 (processes reused)"
    }
    configs = (CONFIG_B,)
    forks_per_task = False

    def worker_argv(self, config: str) -> list[str]:
        return [*super().worker_argv(config), *REUSE_ARGS]


class AlsekPinnedSystem(AlsekSystem):
    """alsek with ``--pin-cpus``: config A as ``alsek``'s, config B as ``alsek-reuse``'s, each
    task-running process kept on one CPU (the interpreter lock handed over on one core)."""

    name = "alsek-pinned"
    labels = {
        CONFIG_A: f"{AlsekSystem.labels[CONFIG_A]} --pin-cpus",
        CONFIG_B: f"{AlsekReuseSystem.labels[CONFIG_B]} --pin-cpus",
    }
    forks_per_task = False

    def worker_argv(self, config: str) -> list[str]:
        reuse = REUSE_ARGS if config == CONFIG_B else []
        return [*super().worker_argv(config), *reuse, *PIN_ARGS]


class AlsekGroupsSystem(AlsekSystem):
    """alsek's thread pool in config B: two process groups of 8 threads (as Dramatiq's config
    B runs 2 processes × 8 threads), each kept on one CPU while busy (the default)."""

    name = "alsek-groups"
    labels = {CONFIG_B: "alsek " + " ".join(GROUPS_ARGS[:1] + GROUPS_ARGS[2:-2])}
    configs = (CONFIG_B,)
    forks_per_task = False

    def worker_argv(self, config: str) -> list[str]:
        return self.command(GROUPS_ARGS)


class AlsekFreeSystem(AlsekSystem):
    """alsek's config A with ``--no-pin-cpus``: every thread free to run on every CPU, to show
    what the default CPU affinity rule gains."""

    name = "alsek-free"
    labels = {CONFIG_A: f"{AlsekSystem.labels[CONFIG_A]} --no-pin-cpus"}
    configs = (CONFIG_A,)
    forks_per_task = False

    def worker_argv(self, config: str) -> list[str]:
        return [*super().worker_argv(config), "--no-pin-cpus"]
