"""The admin commands with click's CliRunner on an in-memory backend (``obj={"backend": ...}``)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from alsek.adapters.memory import InMemoryBackend
from alsek.cli.main import main
from alsek.cli.render import EXIT_BACKEND, EXIT_NOT_FOUND, EXIT_USAGE, parse_duration_ms
from alsek.domain.model.message import Message
from alsek.domain.model.naming import dlq_name
from tests.contract.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock) -> InMemoryBackend:
    return InMemoryBackend(clock=clock)


def alsek(backend: InMemoryBackend, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), obj={"backend": backend}, input=stdin)


def _dead(backend, clock, task="add", queue="math", error="ValueError") -> Message:
    backend.submit(Message(task, queue=queue, args=(1,), created_at=clock.now_ms()))
    (message,) = backend.claim([queue], limit=1, lease_ms=5_000).messages
    message.update(exception_details={"name": error, "text": "boom", "traceback": "TB-TEXT"})
    backend.fail(message, dlq_ttl=600_000)
    return message


def test_queues_as_a_table_and_as_json(backend, clock) -> None:
    assert alsek(backend, "queues").exit_code == EXIT_NOT_FOUND  # no queue yet
    _dead(backend, clock)
    for _ in range(2):
        backend.submit(Message("add", queue="math", created_at=clock.now_ms()))
    backend.submit(Message("add", queue="math", delay=60_000, created_at=clock.now_ms()))
    clock.advance(90_000)
    result = alsek(backend, "queues")
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()
    assert header.split() == ["QUEUE", "READY", "DELAYED", "LEASED", "DEAD", "OLDEST", "READY"]
    assert row.split() == ["math", "3", "0", "0", "1", "1.5", "min"]
    (stats,) = json.loads(alsek(backend, "queues", "--json").output)
    assert stats == {"queue": "math", "ready": 3, "delayed": 0, "leased": 0, "dead": 1,
                     "oldest_ready_age_ms": 90_000}  # fmt: skip


def test_message_lookup(backend, clock) -> None:
    dead = _dead(backend, clock)
    result = alsek(backend, "message", dead.uuid)
    assert result.exit_code == 0, result.output
    assert "state:     dead" in result.output and "TB-TEXT" in result.output
    data = json.loads(alsek(backend, "message", dead.uuid, "--json").output)
    assert data["state"] == "dead" and data["message"]["exception_details"]["name"] == "ValueError"
    missing = alsek(backend, "message", "nope")
    assert missing.exit_code == EXIT_NOT_FOUND


def test_dead_letters_list_with_filters_and_show(backend, clock) -> None:
    a = _dead(backend, clock)
    clock.advance(60_000)
    b = _dead(backend, clock, task="mul", error="KeyError")
    listed = alsek(backend, "dead-letters", "list")
    assert listed.exit_code == 0 and a.uuid in listed.output and b.uuid in listed.output
    only = json.loads(alsek(backend, "dead-letters", "list", "-e", "KeyError", "--json").output)
    assert [m["uuid"] for m in only] == [b.uuid]
    old = json.loads(alsek(backend, "dead-letters", "list", "--older-than", "1m", "--json").output)
    assert [m["uuid"] for m in old] == [a.uuid]
    assert alsek(backend, "dead-letters", "list", "--task", "none").exit_code == EXIT_NOT_FOUND
    assert alsek(backend, "dead-letters", "list", "--older_than", "x").exit_code == EXIT_USAGE
    shown = alsek(backend, "dead-letters", "show", a.uuid)
    assert "ValueError: boom" in shown.output and "TB-TEXT" in shown.output
    assert alsek(backend, "dead-letters", "show", "nope").exit_code == EXIT_NOT_FOUND


def test_dead_letters_requeue_by_filter_uuid_and_all(backend, clock) -> None:
    a, b = _dead(backend, clock), _dead(backend, clock, task="mul")
    assert alsek(backend, "dead-letters", "requeue").exit_code == EXIT_USAGE  # nothing chosen
    dry = alsek(backend, "dead-letters", "requeue", "--task", "add", "--dry-run")
    assert dry.exit_code == 0 and "Would have requeued 1" in dry.output
    assert backend.exists(dlq_name(a))
    done = json.loads(alsek(backend, "dead-letters", "requeue", b.uuid, "--json").output)
    assert [m["uuid"] for m in done["requeued"]] == [b.uuid]
    assert not backend.exists(dlq_name(b)) and backend.exists(dlq_name(a))
    assert alsek(backend, "dead-letters", "requeue", "--all").exit_code == 0
    assert backend.queue_counts("math").ready == 2
    assert alsek(backend, "dead-letters", "requeue", "--all").exit_code == EXIT_NOT_FOUND


def test_dead_letters_purge(backend, clock) -> None:
    a, b = _dead(backend, clock), _dead(backend, clock, queue="other")
    dry = alsek(backend, "dead-letters", "purge", "--queue", "other", "--dry-run")
    assert "Would have purged 1" in dry.output and backend.count_dead_letters("other") == 1
    assert alsek(backend, "dead-letters", "purge", "--queue", "other").exit_code == 0
    assert backend.count_dead_letters("other") == 0 and backend.count_dead_letters("math") == 1
    assert alsek(backend, "dead-letters", "purge", a.uuid).exit_code == 0
    assert backend.count_dead_letters("math") == 0
    assert b.uuid


def test_purge_asks_first_and_leaves_leased_messages(backend, clock) -> None:
    for _ in range(3):
        backend.submit(Message("add", queue="math", created_at=clock.now_ms()))
    (held,) = backend.claim(["math"], limit=1, lease_ms=5_000).messages
    refused = alsek(backend, "purge", "math", stdin="n\n")
    assert refused.exit_code == 1 and "Remove the 2 waiting" in refused.output
    assert backend.queue_counts("math").ready == 2
    done = alsek(backend, "purge", "math", stdin="y\n")
    assert done.exit_code == 0 and "Removed 2" in done.output and "1 leased" in done.output
    out = json.loads(alsek(backend, "purge", "math", "--yes", "--json").output)
    assert out == {"queue": "math", "removed": 0, "leased_left": 1}
    assert backend.ack(held) is True


def test_revoke(backend, clock) -> None:
    message = Message("add", queue="math", created_at=clock.now_ms())
    backend.submit(message)
    result = alsek(backend, "revoke", message.uuid)
    assert result.exit_code == 0 and "it was ready" in result.output
    assert backend.exists(dlq_name(message)) and backend.queue_counts("math").ready == 0
    assert "dead letter already" in alsek(backend, "revoke", message.uuid).output
    assert alsek(backend, "revoke", "nope").exit_code == EXIT_NOT_FOUND


def test_an_unreachable_redis_exits_with_the_backend_code() -> None:
    result = CliRunner().invoke(main, ["queues", "--redis-url", "redis://127.0.0.1:1/0"])
    assert result.exit_code == EXIT_BACKEND
    assert "cannot reach Redis" in result.output


def test_a_malformed_url_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["queues", "--redis-url", "http://:secret@x"])
    assert result.exit_code == EXIT_USAGE and "secret" not in result.output


@given(st.integers(0, 10**6), st.sampled_from(["", "ms", "s", "m", "h", "d"]))
def test_durations_parse_in_every_unit(amount: int, unit: str) -> None:
    factor = {"": 1, "ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}[unit]
    assert parse_duration_ms(f"{amount}{unit}") == amount * factor


@given(st.text().filter(lambda t: not t.strip().rstrip("smhd").strip().isdigit()))
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration_ms(text)
