"""What the workers say: failures with their traceback, per-run lines behind --log-tasks, an
outage in two lines, JSON lines, the start-up banner and a warning about another Redis."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from alsek import Broker, task
from alsek.adapters.memory import InMemoryBackend
from alsek.adapters.redis import RedisBackend as RedisAdapter
from alsek.app import facade
from alsek.app.settings import Settings, WorkerSettings
from alsek.app.worker_container import warn_about_other_redis
from alsek.cli import logs
from alsek.cli.banner import banner
from alsek.domain.model.errors import BackendConnectionError
from alsek.domain.model.message import Message
from alsek.domain.services import consumer as consumer_module
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.processing import announce, run_task, settle
from alsek.storage.backends.redis import RedisBackend
from alsek.worker.thread.pool import ThreadWorkerPool


@pytest.fixture(autouse=True)
def _fresh_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(facade, "_container", None)


def _run(fn: Any, message: Message, caplog: pytest.LogCaptureFixture) -> None:
    outcome = run_task(fn, message)
    announce(fn, settle(fn, message, outcome), outcome)


def test_a_failed_run_logs_task_uuid_attempt_exception_and_traceback(caplog) -> None:
    broker = Broker(InMemoryBackend())

    @task(broker, queue="q", max_retries=1)
    def boom() -> None:
        raise ValueError("it broke")

    first = Message("boom", queue="q", created_at=0)
    with caplog.at_level(logging.INFO, logger="alsek.tasks"):
        logging.getLogger("alsek.tasks").setLevel(logging.WARNING)  # no --log-tasks
        _run(boom, first, caplog)
        first.update(retries=1)
        _run(boom, first, caplog)
    retry, final = [r for r in caplog.records if r.name == "alsek.tasks"]
    assert (retry.levelno, final.levelno) == (logging.WARNING, logging.ERROR)
    assert "will be retried" in retry.getMessage() and "failed for good" in final.getMessage()
    for record, attempt in ((retry, 1), (final, 2)):
        text = record.getMessage()
        assert f"boom[{first.uuid}]" in text and f"attempt {attempt}" in text
        assert "ValueError: it broke" in text and "Traceback (most recent call last)" in text
        assert (record.task, record.uuid, record.attempt, record.exception) == (
            "boom",
            first.uuid,
            attempt,
            "ValueError",
        )
    logging.getLogger("alsek.tasks").setLevel(logging.NOTSET)


def test_runs_are_logged_with_their_run_time_only_with_log_tasks(caplog) -> None:
    @task(Broker(InMemoryBackend()), queue="q")
    def fine() -> int:
        return 1

    tasks_log = logging.getLogger("alsek.tasks")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        levels = {}
        for log_tasks in (False, True):
            logs.configure("INFO", "text", log_tasks)
            levels[log_tasks] = tasks_log.level
        logs.configure("ERROR", "json", False)
        assert isinstance(root.handlers[0].formatter, logs.JsonFormatter)
        assert tasks_log.level == logging.ERROR  # retries (WARNING) hidden at --log-level error
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert levels == {False: logging.WARNING, True: logging.INFO}
    try:
        for log_tasks, expected in ((False, []), (True, ["Started", "Succeeded"])):
            caplog.clear()
            with caplog.at_level(logging.DEBUG, logger="alsek"):
                tasks_log.setLevel(levels[log_tasks])
                _run(fine, Message("fine", queue="q", created_at=0), caplog)
            lines = [r.getMessage() for r in caplog.records if r.name == "alsek.tasks"]
            assert [line.split()[0] for line in lines] == expected
        assert " ms (attempt 1)" in lines[1] and caplog.records[-1].runtime_ms >= 0
    finally:
        tasks_log.setLevel(logging.NOTSET)


class Flaky(InMemoryBackend):
    """A backend whose claims fail while ``down`` is positive."""

    down = 0

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        if self.down:
            self.down -= 1
            raise BackendConnectionError("Redis is unreachable: refused")
        return super().claim(*args, **kwargs)


def test_an_outage_is_logged_as_unavailable_once_then_reconnected(monkeypatch, caplog) -> None:
    monkeypatch.setattr(consumer_module, "RECONNECT_FLOOR_MS", 1)
    monkeypatch.setattr(consumer_module, "RECONNECT_CEILING_MS", 1)
    backend = Flaky()
    consumer = Consumer(Broker(backend), ["q"])
    backend.down = 5
    with caplog.at_level(logging.DEBUG, logger="alsek"):
        for _ in range(6):
            consumer.claim()
    shown = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(shown) == 2
    assert shown[0].startswith("Backend unavailable") and "refused" in shown[0]
    assert shown[1].startswith("Backend reconnected") and "5 failed attempt(s)" in shown[1]


def test_json_lines_carry_the_fields_and_the_traceback() -> None:
    formatter = logs.JsonFormatter()
    try:
        raise KeyError("k")
    except KeyError:
        import sys

        record = logging.LogRecord("alsek.tasks", logging.ERROR, "f", 1, "a\nb %s", ("c",),
                                   sys.exc_info())  # fmt: skip
    record.task, record.uuid = "add", "u-1"
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "a\nb c" and entry["level"] == "ERROR"
    assert (entry["task"], entry["uuid"]) == ("add", "u-1")
    assert "KeyError" in entry["traceback"] and entry["time"].endswith("Z")


def test_redis_backend_without_a_url_follows_the_settings(monkeypatch) -> None:
    monkeypatch.setenv("ALSEK_REDIS_URL", "redis://:pw@envhost:6390/2")
    backend = RedisBackend()
    assert isinstance(backend, RedisAdapter)
    assert backend.address == "redis://:***@envhost:6390/2"
    assert RedisBackend("redis://other:1/0").address == "redis://other:1/0"
    facade.use_settings(Settings(redis_url="redis://cli-host:7000/1"))  # what --redis-url does
    assert RedisBackend().address == "redis://cli-host:7000/1"
    monkeypatch.delenv("ALSEK_REDIS_URL")
    monkeypatch.setattr(facade, "_container", None)
    assert RedisBackend().address == "redis://localhost:6379/0"


def test_a_task_on_another_redis_is_warned_about_once(caplog) -> None:
    elsewhere = Broker(RedisAdapter("redis://:secret@prod:6379/0"))
    same = Broker(RedisAdapter("redis://localhost"))

    @task(elsewhere)
    def a() -> None: ...

    @task(elsewhere)
    def b() -> None: ...

    @task(same)
    def c() -> None: ...

    with caplog.at_level(logging.WARNING, logger="alsek"):
        warn_about_other_redis([a, b, c], "redis://localhost:6379/0")
        warn_about_other_redis([a], None)  # no --redis-url: nothing to compare with
    (record,) = caplog.records
    text = record.getMessage()
    assert "redis://localhost:6379/0" in text and "redis://:***@prod:6379/0" in text
    assert "a, b" in text and "secret" not in text


def test_the_banner_names_version_redis_namespace_queues_shape_lease_and_prefetch() -> None:
    @task(Broker(RedisAdapter("redis://:pw@h:6379/0", namespace="ns")), queue="q1",
          mechanism="thread")  # fmt: skip
    def work() -> None: ...

    settings = WorkerSettings(pool="thread", n_threads=4, n_processes=2, lease_ms=6_000)
    pool = ThreadWorkerPool([work], n_threads=4, n_processes=2, lease_ms=6_000)
    text = "\n".join(banner(pool, settings))
    for part in ("alsek ", "2 process group(s) of 4 thread(s)", "redis://:***@h:6379/0",
                 "namespace 'ns'", "Queues: q1", "Lease 6,000 ms", "prefetch 32"):  # fmt: skip
        assert part in text, (part, text)
    assert "pw" not in text and "pinned" not in text


@pytest.mark.parametrize(
    ("reuse", "pin_cpus", "expected"),
    [
        (0, None, "unlimited tasks per process, each on one CPU while busy"),
        (0, True, "unlimited tasks per process, each pinned to one CPU"),
        (0, False, "unlimited tasks per process"),
        (1, None, "a fresh process per task"),
        (1, True, "a fresh process per task (--pin-cpus applies to processes reused without"),
        (5, None, "max 5 tasks per process"),
        (5, True, "max 5 tasks per process (--pin-cpus applies to processes reused without"),
    ],
)
def test_the_banner_says_which_process_pool_processes_keep_to_a_cpu(
    reuse: int, pin_cpus: bool | None, expected: str
) -> None:
    from types import SimpleNamespace

    from alsek.cli.banner import shape

    settings = WorkerSettings(pool="process", n_processes=2, pin_cpus=pin_cpus)
    text = shape(SimpleNamespace(n_processes=2, max_tasks_per_child=reuse), settings)
    assert text.startswith("process pool, up to 2 task process(es), "), text
    assert expected in text, text
    if reuse != 0 or pin_cpus is False:
        assert "each" not in text, text


OPT_TASKS = """
from alsek import Broker, task
from alsek.adapters.memory import InMemoryBackend

broker = Broker(InMemoryBackend())

@task(broker, queue="opt", mechanism="thread")
def opt() -> None: ...
"""


@pytest.mark.parametrize("style", ["dashed", "underscored"])
def test_both_option_spellings_configure_the_pool_which_logs_its_banner(
    style: str, tmp_path, monkeypatch
) -> None:
    import sys

    from click.testing import CliRunner

    from alsek.cli.main import main
    from alsek.worker.pool import WorkerPool

    (tmp_path / "opt_tasks.py").write_text(OPT_TASKS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    pools: list[Any] = []
    monkeypatch.setattr(WorkerPool, "run", lambda pool: pools.append(pool))
    names = ["n_threads", "n_processes", "lease_ms", "n_process_floor", "pin_cpus"]
    flags = [f"--{n.replace('_', '-')}" if style == "dashed" else f"--{n}" for n in names]
    args = [flags[0], "3", flags[1], "2", flags[2], "7000", flags[3], "0", flags[4]]
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        result = CliRunner().invoke(
            main, ["thread-pool", "opt_tasks", *args, "--log-format", "json"]
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert result.exit_code == 0, result.output
    [pool] = pools
    assert (pool.n_threads, pool.n_processes, pool.lease_ms, pool.n_process_floor) == (
        3,
        2,
        7000,
        0,
    )
    assert pool.pin_cpus and pool.spec().pin_cpus
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert any("2 process group(s) of 3 thread(s)" in e["message"] for e in lines), result.output
    assert any("each pinned to one CPU" in e["message"] for e in lines), result.output


@pytest.mark.parametrize(
    ("flag", "pin_cpus", "banner"),
    [
        ([], None, "each on one CPU while busy with interpreter-bound work"),
        (["--no-pin-cpus"], False, "thread(s) (at least 1 kept)"),
        (["--no_pin_cpus"], False, "thread(s) (at least 1 kept)"),
    ],
)
def test_cpu_pinning_is_automatic_unless_turned_off(
    flag: list[str], pin_cpus: bool | None, banner: str, tmp_path, monkeypatch
) -> None:
    import sys

    from click.testing import CliRunner

    from alsek.cli.main import main
    from alsek.worker.pool import WorkerPool

    (tmp_path / "opt_tasks.py").write_text(OPT_TASKS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.delenv("ALSEK_PIN_CPUS", raising=False)
    pools: list[Any] = []
    monkeypatch.setattr(WorkerPool, "run", lambda pool: pools.append(pool))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        result = CliRunner().invoke(main, ["thread-pool", "opt_tasks", *flag])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert result.exit_code == 0, result.output
    [pool] = pools
    assert pool.pin_cpus is pin_cpus and pool.spec().pin_cpus is pin_cpus
    assert banner in result.output and "pinned" not in result.output
