"""The CLI with click's CliRunner: help, discovery of targets, exit codes, settings to pool."""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from dependency_injector import providers

from alsek.adapters.redis import RedisBackend
from alsek.app import facade
from alsek.app.discovery import TaskDiscoveryError, discover_tasks
from alsek.app.settings import Settings, WorkerSettings
from alsek.app.worker_container import WorkerContainer
from alsek.cli.main import EXIT_BACKEND, EXIT_IMPORT, EXIT_USAGE, main
from alsek.worker.pool import WorkerPool
from alsek.worker.process.pool import ProcessWorkerPool
from alsek.worker.thread.pool import ThreadWorkerPool

TASKS = """
from alsek import Broker, task
from alsek.adapters.memory import InMemoryBackend

try:
    from cli_tasks_pkg import broker  # the package's modules share one broker
except ImportError:
    broker = Broker(InMemoryBackend())

@task(broker, queue="{queue}", mechanism="thread")
def {name}() -> int:
    return 1

@task(broker, queue="{queue}")
def {name}_in_process() -> int:
    return 1
"""

DEFAULT_BROKER = """
from alsek import task

@task(queue="defaults")
def brokerless() -> None: ...

@task(queue="defaults", mechanism="thread")
def brokerless_thread() -> None: ...
"""

PROCESS_ONLY = """
from alsek import Broker, task
from alsek.adapters.memory import InMemoryBackend

@task(Broker(InMemoryBackend()))
def only_in_a_process() -> None: ...
"""

UNREACHABLE = """
from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend

broker = Broker(RedisBackend("redis://127.0.0.1:1/0"))

@task(broker)
def lonely() -> None: ...
"""


@pytest.fixture(autouse=True)
def _fresh_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own default container (the CLI changes the defaults' settings)."""
    monkeypatch.setattr(facade, "_container", None)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory with a module and a package of tasks, as the current directory."""
    (tmp_path / "cli_tasks_flat.py").write_text(TASKS.format(queue="flat", name="flat_task"))
    package = tmp_path / "cli_tasks_pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from alsek import Broker\nfrom alsek.adapters.memory import InMemoryBackend\n"
        "broker = Broker(InMemoryBackend())\n"
    )
    (package / "sub" / "__init__.py").write_text("")
    (package / "first.py").write_text(TASKS.format(queue="one", name="first_task"))
    (package / "sub" / "deep.py").write_text(TASKS.format(queue="two", name="deep_task"))
    (tmp_path / "cli_tasks_down.py").write_text(UNREACHABLE)
    (tmp_path / "cli_tasks_defaults.py").write_text(DEFAULT_BROKER)
    (tmp_path / "cli_tasks_broken.py").write_text("import this_module_does_not_exist\n")
    (tmp_path / "cli_tasks_empty.py").write_text("x = 1\n")
    (tmp_path / "cli_tasks_process_only.py").write_text(PROCESS_ONLY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("cli_tasks"):
            del sys.modules[name]


def test_help_lists_both_pools_and_every_option() -> None:
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    assert "thread-pool" in top.output and "process-pool" in top.output
    thread = runner.invoke(main, ["thread-pool", "--help"]).output
    process = runner.invoke(main, ["process-pool", "--help"]).output
    shared = ["-qu, --queues", "--task_specific_mode", "--n_processes", "--slot_wait_interval",
              "--consumer_backoff_factor", "--consumer_backoff_floor",
              "--consumer_backoff_ceiling", "--lease_ms", "--grace_period", "--log-level",
              "--redis-url", "--prefetch", "Exit codes"]  # fmt: skip
    for option in [*shared, "--n_threads", "--n_process_floor", "--complete_only_on_thread_exit"]:
        assert option in thread, option
    for option in [*shared, "--prune_interval"]:
        assert option in process, option


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "version" in result.output


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize(
    ("target", "names"),
    [
        ("cli_tasks_flat", ["flat_task", "flat_task_in_process"]),
        ("cli_tasks_flat.py", ["flat_task", "flat_task_in_process"]),
        (
            "cli_tasks_pkg",
            ["first_task", "deep_task", "first_task_in_process", "deep_task_in_process"],
        ),
        ("cli_tasks_pkg.sub.deep", ["deep_task", "deep_task_in_process"]),
    ],
)
def test_discovery_of_modules_files_and_packages(target: str, names: list[str]) -> None:
    assert sorted(t.name for t in discover_tasks(target)) == sorted(names)


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize(
    "target", ["cli_tasks_broken", "cli_tasks_empty", "no_such_module", "nope.py"]
)
def test_bad_targets_exit_with_the_import_code(target: str) -> None:
    with pytest.raises(TaskDiscoveryError):
        discover_tasks(target)
    result = CliRunner().invoke(main, ["thread-pool", target])
    assert result.exit_code == EXIT_IMPORT, result.output


@pytest.mark.usefixtures("project")
def test_an_unreachable_backend_exits_with_the_backend_code() -> None:
    result = CliRunner().invoke(main, ["process-pool", "cli_tasks_down", "--n_processes", "1"])
    assert result.exit_code == EXIT_BACKEND, result.output


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize(
    "args",
    [
        ["thread-pool", "cli_tasks_flat", "--n_threads", "0"],
        ["thread-pool", "cli_tasks_flat", "--n_threads", "many"],
        ["process-pool", "cli_tasks_flat", "--log-level", "loud"],
        ["thread-pool", "cli_tasks_flat", "-qu", "bad queue"],
        ["thread-pool", "cli_tasks_flat", "--n_processes", "2", "--n_process_floor", "3"],
    ],
)
def test_bad_options_exit_with_the_usage_code(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_USAGE, result.output


@pytest.mark.usefixtures("project")
def test_a_pool_with_no_task_of_its_mechanism_exits_with_the_import_code() -> None:
    result = CliRunner().invoke(main, ["thread-pool", "cli_tasks_process_only"])
    assert result.exit_code == EXIT_IMPORT, result.output
    assert "none of the tasks ['only_in_a_process'] has mechanism='thread'" in result.output


@pytest.mark.usefixtures("project")
def test_tasks_on_different_backends_are_refused() -> None:
    from alsek import Broker, task
    from alsek.adapters.memory import InMemoryBackend
    from alsek.domain.model.errors import ValidationError

    @task(Broker(InMemoryBackend()), mechanism="thread")
    def one() -> None: ...

    @task(Broker(InMemoryBackend()), mechanism="thread")
    def two() -> None: ...

    with pytest.raises(ValidationError, match="different backends"):
        ThreadWorkerPool([one, two])


@pytest.mark.usefixtures("project")
def test_settings_flow_through_the_container_to_the_pool() -> None:
    settings = WorkerSettings.from_env(
        {}, pool="thread", target="cli_tasks_pkg", queues="two,one", n_threads=3,
        n_processes=2, n_process_floor=0, lease_ms=7_000, grace_period=1_234,
    )  # fmt: skip
    pool = WorkerContainer(settings=providers.Object(settings)).pool()
    assert isinstance(pool, ThreadWorkerPool)
    assert (pool.n_threads, pool.n_processes, pool.n_process_floor) == (3, 2, 0)
    assert pool.queues == ("two", "one")
    assert (pool.lease_ms, pool.grace_period, pool.heartbeat_ms) == (7_000, 1_234, 1_400)
    assert pool.prefetch == 24  # the thread pool's default: 8 × n_threads

    process = WorkerContainer(
        settings=providers.Object(WorkerSettings(pool="process", target="cli_tasks_flat"))
    ).pool()
    assert isinstance(process, ProcessWorkerPool)
    assert process.queues == ("flat",)
    assert process.prefetch == 32
    reused = WorkerSettings(pool="process", target="cli_tasks_flat", max_tasks_per_child=0)
    warm = WorkerContainer(settings=providers.Object(reused)).pool()
    assert isinstance(warm, ProcessWorkerPool) and type(warm).__name__ == "WarmProcessPool"
    assert (warm.prefetch, warm.max_tasks_per_child) == (64, 0)

    env = WorkerSettings.from_env({"ALSEK_PREFETCH": "0"}, pool="process", target="cli_tasks_flat")
    assert WorkerContainer(settings=providers.Object(env)).pool().prefetch == 0


def test_tasks_can_be_overridden_in_the_container() -> None:
    from alsek import Broker, task
    from alsek.adapters.memory import InMemoryBackend

    @task(Broker(InMemoryBackend()), queue="z")
    def injected() -> None: ...

    container = WorkerContainer(settings=providers.Object(WorkerSettings(pool="process")))
    container.tasks.override(providers.Object([injected]))
    assert container.pool().tasks == {"injected": injected}


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize("command", ["thread-pool", "process-pool"])
def test_redis_url_reaches_brokerless_tasks_and_children_without_the_environment(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALSEK_REDIS_URL", raising=False)
    monkeypatch.setenv("ALSEK_NAMESPACE", "cli-ns")
    pools: list[WorkerPool] = []
    monkeypatch.setattr(WorkerPool, "run", lambda pool: pools.append(pool))
    url = "redis://127.0.0.1:1/3"
    result = CliRunner().invoke(main, [command, "cli_tasks_defaults", "--redis-url", url])
    assert result.exit_code == 0, result.output
    assert "ALSEK_REDIS_URL" not in os.environ
    [pool] = pools
    [brokerless] = pool.tasks.values()  # the one task of the pool's mechanism
    backend = brokerless.broker.backend
    assert isinstance(backend, RedisBackend)
    kwargs = backend.client.connection_pool.connection_kwargs
    assert (kwargs["port"], kwargs["db"], backend.namespace) == (1, 3, "cli-ns")
    # What a child runs before it looks up its tasks (pickled for spawn and forkserver):
    initializer = pickle.loads(pickle.dumps(pool.spec().initializer))
    monkeypatch.setattr(facade, "_container", None)  # a freshly started child's defaults
    initializer()
    assert facade.default_container().settings() == Settings(redis_url=url, namespace="cli-ns")
