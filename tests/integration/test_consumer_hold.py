"""The tour's Consumers promise, with a bare ``Consumer.stream()`` in a real process on a real
redis-server: "one, and only one, consumer can hold a message at any given time". A message the
stream yielded stays its consumer's for as long as that consumer lives and has not settled it,
and comes back within a lease once the consumer dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alsek import Broker, Message
from alsek.domain.services.consumer import Consumer
from alsek.storage.backends.redis import RedisBackend
from tests.integration.test_worker_harness import wait_until

LEASE_MS = 1_500

HOLDER = """
import os, sys, time
from alsek import Broker
from alsek.core.consumer import Consumer
from alsek.storage.backends.redis import RedisBackend

broker = Broker(RedisBackend(os.environ["URL"], namespace=os.environ["NS"]))
consumer = Consumer(broker, ["hold"], lease_ms=int(os.environ["LEASE_MS"]))
for message in consumer.stream():
    print(f"got {message.uuid}", flush=True)
    time.sleep(float(os.environ["HOLD_S"]))  # busy with it, far longer than a lease
    broker.ack(message)
    print(f"acked {message.uuid}", flush=True)
"""


@pytest.fixture
def broker(redis_backend: RedisBackend) -> Broker:
    return Broker(redis_backend)


@pytest.fixture
def holder(tmp_path: Path, redis_url: str, redis_backend: RedisBackend) -> Iterator[callable]:  # type: ignore[valid-type]
    (tmp_path / "holder.py").write_text(HOLDER)
    started: list[subprocess.Popen[str]] = []

    def start(hold_s: float) -> subprocess.Popen[str]:
        env = {**os.environ, "URL": redis_url, "NS": redis_backend.namespace,
               "LEASE_MS": str(LEASE_MS), "HOLD_S": str(hold_s)}  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, str(tmp_path / "holder.py")], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.communicate(timeout=30)


def _expect(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdout is not None
    got = process.stdout.readline().strip()
    assert got == line, f"expected {line!r}, got {got!r}"


def _other_claims(broker: Broker, seconds: float) -> list[str]:
    """What a second consumer gets while it keeps claiming for ``seconds``."""
    other = Consumer(broker, ["hold"], lease_ms=LEASE_MS)
    got: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got.extend(str(m.uuid) for m in other.claim(1))
        time.sleep(0.05)
    return got


def test_a_yielded_message_stays_with_its_live_consumer(broker: Broker, holder) -> None:  # type: ignore[no-untyped-def]
    message = Message(task_name="job", queue="hold")
    broker.submit(message)
    process = holder(hold_s=4 * LEASE_MS / 1000)
    _expect(process, f"got {message.uuid}")
    assert _other_claims(broker, 3 * LEASE_MS / 1000) == [], "delivered to a second consumer"
    _expect(process, f"acked {message.uuid}")
    assert not broker.exists(message)


def test_a_held_message_comes_back_when_its_consumer_dies(broker: Broker, holder) -> None:  # type: ignore[no-untyped-def]
    message = Message(task_name="job", queue="hold")
    broker.submit(message)
    process = holder(hold_s=600)
    _expect(process, f"got {message.uuid}")
    assert _other_claims(broker, 2 * LEASE_MS / 1000) == []
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    other = Consumer(broker, ["hold"], lease_ms=LEASE_MS)
    taken: list[Message] = []
    wait_until(lambda: bool(taken.extend(other.claim(1)) or taken), 10 * LEASE_MS / 1000,
               "the message to come back after its consumer died")  # fmt: skip
    assert [m.uuid for m in taken] == [message.uuid]
