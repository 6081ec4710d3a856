"""The tour's Consumers, Worker Pools and CLI sections, run as written on a real redis-server.

Each example runs in a process of its own (they loop for ever, as a worker does): the tour's code
is written verbatim into a script after a short prelude that points "Redis on localhost" at the
test server and defines the tasks the example names. The CLI examples run the ``alsek`` command
on the tour's project layout (``my_tasks.py``; ``my_project/{singletons,my_tasks}.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import redis

from alsek import Broker, Message
from alsek.storage.backends.redis import RedisBackend
from tests.integration.test_worker_harness import wait_until

ALSEK = str(Path(sys.executable).with_name("alsek"))

PRELUDE = """
import os
import alsek.adapters.redis.client
alsek.adapters.redis.client.DEFAULT_URL = os.environ["ALSEK_REDIS_URL"]  # "localhost" is the test server
from alsek import task
import redis
_seen = redis.Redis.from_url(os.environ["ALSEK_REDIS_URL"])

# A pool runs only tasks of its mechanism: the thread pool's example gets thread tasks.
MECHANISM = os.environ.get("TOUR_MECHANISM", "process")

@task(..., queue="tour", mechanism=MECHANISM)
def task_a() -> str:
    _seen.rpush("tour:ran", "task_a")
    return "A!"

@task(..., queue="tour", mechanism=MECHANISM)
def task_b() -> int:
    _seen.rpush("tour:ran", "task_b")
    return 99
"""

CONSUMER = """
from alsek import Broker
from alsek.core.consumer import Consumer
from alsek.storage.backends.redis import RedisBackend

broker = Broker(RedisBackend())
consumer = Consumer(broker)

for message in consumer.stream():
    print(f"Got {message.summary}")
"""

THREAD_POOL = """
from alsek import Broker
from alsek.core.worker.thread import ThreadWorkerPool
from alsek.storage.backends.redis import RedisBackend

backend = RedisBackend()
broker = Broker(backend)

pool = ThreadWorkerPool(
    tasks=[task_a, task_b],  # tasks to process
    n_threads=8,             # threads per process group
    n_processes=4,           # maximum number of process groups
)
pool.run()
"""

PROCESS_POOL = """
from alsek import Broker
from alsek.core.worker.process import ProcessWorkerPool
from alsek.storage.backends.redis import RedisBackend

backend = RedisBackend()
broker = Broker(backend)

pool = ProcessWorkerPool(
    tasks=[task_a, task_b],  # tasks to process
    n_processes=4,           # maximum number of processes
    prune_interval=100,      # milliseconds between prune scans
)
pool.run()
"""

SINGLETONS = """
import os
from alsek import Broker
from alsek.storage.backends.redis import RedisBackend

backend = RedisBackend(os.environ["ALSEK_REDIS_URL"])
broker = Broker(backend)
"""

PROJECT_TASKS = """
import os
import redis
from alsek import task
from {package}singletons import broker

_seen = redis.Redis.from_url(os.environ["ALSEK_REDIS_URL"])
MECHANISM = os.environ.get("TOUR_MECHANISM", "process")  # the pool the example starts

@task(broker, queue="queue_a", mechanism=MECHANISM)
def add(a: int, b: int) -> int:
    _seen.rpush("tour:ran", f"add:{{a + b}}")
    return a + b

@task(broker, queue="queue_b", mechanism=MECHANISM)
def shout(word: str) -> str:
    _seen.rpush("tour:ran", f"shout:{{word}}")
    return word.upper()
"""


@pytest.fixture
def seen(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


@pytest.fixture
def broker(redis_url: str) -> Broker:
    return Broker(RedisBackend(redis_url))


def _environment(redis_url: str, mechanism: str) -> dict[str, str]:
    return {
        **os.environ, "ALSEK_REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1",
        "TOUR_MECHANISM": mechanism,
    }  # fmt: skip


def _start(
    command: list[str], cwd: Path, redis_url: str, mechanism: str = "process"
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, cwd=cwd, env=_environment(redis_url, mechanism), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"did not stop on SIGTERM:\n{output}")
    return process.returncode, output


def _ran(seen: redis.Redis) -> list[str]:
    return [item.decode() for item in seen.lrange("tour:ran", 0, -1)]


def _run_script(
    tmp_path: Path, body: str, redis_url: str, mechanism: str = "process"
) -> subprocess.Popen[str]:
    script = tmp_path / "tour_example.py"
    script.write_text(textwrap.dedent(PRELUDE) + textwrap.dedent(body))
    return _start([sys.executable, str(script)], tmp_path, redis_url, mechanism)


def test_consumer_streams_messages(tmp_path: Path, redis_url: str, broker: Broker) -> None:
    first = Message(task_name="task_a", queue="tour")
    broker.submit(first)
    process = _run_script(tmp_path, CONSUMER, redis_url)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == f"Got {first.summary}"
    finally:
        process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize("example", [THREAD_POOL, PROCESS_POOL], ids=["thread", "process"])
def test_worker_pools_as_written(
    tmp_path: Path, redis_url: str, broker: Broker, seen: redis.Redis, example: str
) -> None:
    mechanism = "thread" if example is THREAD_POOL else "process"
    process = _run_script(tmp_path, example, redis_url, mechanism)
    for name in ("task_a", "task_b", "task_a"):
        broker.submit(Message(task_name=name, queue="tour"))
    try:
        wait_until(lambda: len(_ran(seen)) == 3 or process.poll() is not None, 30, "3 runs")
    finally:
        code, output = _stop(process)
    assert sorted(_ran(seen)) == ["task_a", "task_a", "task_b"], output
    assert code == 0, output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The tour's layouts: ``my_tasks.py`` and ``my_project/{__init__,singletons,my_tasks}.py``."""
    (tmp_path / "singletons.py").write_text(SINGLETONS)
    (tmp_path / "my_tasks.py").write_text(PROJECT_TASKS.format(package=""))
    package = tmp_path / "my_project"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "singletons.py").write_text(SINGLETONS)
    (package / "my_tasks.py").write_text(PROJECT_TASKS.format(package="my_project."))
    return tmp_path


CLI_EXAMPLES = [
    "alsek process-pool my_tasks",
    "alsek thread-pool my_tasks",
    "alsek process-pool my_project.my_tasks",
    "alsek thread-pool my_project",
    "alsek process-pool my_project -qu queue_a",
    "alsek thread-pool my_project -qu queue_a,queue_b,queue_z",
    "alsek thread-pool my_project --n_threads 8",
    "alsek thread-pool my_project --n_processes 4",
    "alsek process-pool my_project --n_processes 4",
    "alsek thread-pool my_project --slot_wait_interval 50",
    "alsek process-pool my_project --prune_interval 100",
    "alsek thread-pool my_project --complete_only_on_thread_exit",
]


@pytest.mark.parametrize("example", CLI_EXAMPLES)
def test_cli_examples(
    example: str, project: Path, redis_url: str, broker: Broker, seen: redis.Redis
) -> None:
    mechanism = "thread" if "thread-pool" in example else "process"
    process = _start([ALSEK, *example.split()[1:]], project, redis_url, mechanism)
    broker.submit(Message(task_name="add", queue="queue_a", args=(2, 3)))
    try:
        wait_until(lambda: bool(_ran(seen)) or process.poll() is not None, 30, "a run")
    finally:
        code, output = _stop(process)
    assert _ran(seen) == ["add:5"], output
    assert code == 0, output


def test_queue_selection_leaves_other_queues_alone(
    project: Path, redis_url: str, broker: Broker, seen: redis.Redis
) -> None:
    broker.submit(Message(task_name="shout", queue="queue_b", args=("hey",)))
    broker.submit(Message(task_name="add", queue="queue_a", args=(1, 1)))
    process = _start([ALSEK, "process-pool", "my_project", "-qu", "queue_a"], project, redis_url)
    try:
        wait_until(lambda: bool(_ran(seen)) or process.poll() is not None, 30, "a run")
    finally:
        code, output = _stop(process)
    assert _ran(seen) == ["add:2"], output
    assert broker.backend.depth("queue_b") == 1
    assert code == 0


BROKERLESS = """
import redis
from alsek import task

_seen = redis.Redis.from_url({url!r})

@task(queue="defaults", mechanism={mechanism!r})
def note(word: str) -> None:
    _seen.rpush("tour:ran", f"note:{{word}}")
"""


@pytest.mark.parametrize("pool", ["thread-pool", "process-pool"])
def test_redis_url_reaches_spawned_children_whatever_the_environment_says(
    pool: str, tmp_path: Path, redis_url: str, broker: Broker, seen: redis.Redis
) -> None:
    mechanism = pool.split("-")[0]
    (tmp_path / "brokerless_tasks.py").write_text(
        BROKERLESS.format(url=redis_url, mechanism=mechanism)
    )
    # A child that read the environment instead of its spec would find no Redis there.
    environment = {**os.environ, "ALSEK_REDIS_URL": "redis://127.0.0.1:1/0"}
    command = [ALSEK, pool, "brokerless_tasks", "--start_method", "spawn", "--n_processes", "1",
               "--redis-url", redis_url]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp_path, env={**environment, "PYTHONUNBUFFERED": "1"}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    broker.submit(Message(task_name="note", queue="defaults", args=("hi",)))
    try:
        wait_until(lambda: bool(_ran(seen)) or process.poll() is not None, 60, "a run")
    finally:
        code, output = _stop(process)
    assert _ran(seen) == ["note:hi"], output
    assert code == 0, output


def test_alsek_help() -> None:
    done = subprocess.run([ALSEK, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "thread-pool" in done.stdout and "process-pool" in done.stdout
