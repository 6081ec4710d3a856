"""RedisBackend does not depend on how redis-py talks: RESP2 or RESP3, hiredis or the pure
Python parser, whatever redis-py version (>= 5) is installed. Every variant runs the same
scenario through every queue operation, pub/sub and wake-ups."""

from __future__ import annotations

import threading

import pytest
import redis

from alsek.adapters.redis import RedisBackend
from alsek.domain.model.backoff import NO_BACKOFF
from alsek.domain.model.effects import Effects, Publish, Write
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name
from tests.contract.fakes import FakeClock

try:
    from redis._parsers import _HiredisParser, _RESP2Parser, _RESP3Parser
except ImportError:  # pragma: no cover - private names of redis-py 5 to 8
    _HiredisParser = _RESP2Parser = _RESP3Parser = None

try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is optional
    hiredis = None

VARIANTS = [
    pytest.param(2, "python", id="resp2-python"),
    pytest.param(3, "python", id="resp3-python"),
    pytest.param(2, "hiredis", id="resp2-hiredis"),
    pytest.param(3, "hiredis", id="resp3-hiredis"),
]


def _client(redis_server, protocol: int, parser: str) -> redis.Redis:
    if _RESP2Parser is None:
        pytest.skip(f"redis-py {redis.__version__} has no redis._parsers")
    if parser == "hiredis" and hiredis is None:
        pytest.skip("hiredis is not installed")
    parser_class = (
        _HiredisParser if parser == "hiredis" else {2: _RESP2Parser, 3: _RESP3Parser}[protocol]
    )
    pool = redis.ConnectionPool(
        host="127.0.0.1", port=redis_server.port, protocol=protocol, parser_class=parser_class
    )
    return redis.Redis(connection_pool=pool)


@pytest.mark.parametrize(("protocol", "parser"), VARIANTS)
def test_the_whole_port_over_each_client_variant(redis_server, redis_url, protocol, parser):
    clock = FakeClock()
    backend = RedisBackend(_client(redis_server, protocol, parser), namespace="v", clock=clock)
    first, second, late = (
        Message("t", queue="q", priority=p, delay=d, created_at=clock.now_ms(),
                backoff_settings=NO_BACKOFF.settings)
        for p, d in ((1, 0), (0, 0), (0, 5_000))
    )  # fmt: skip
    for message in (first, second, late):
        backend.submit(message)
    assert backend.depth("q") == 3 and backend.queues() == ["q"]

    claim = backend.claim(["q"], limit=1, lease_ms=1_000)
    assert claim.messages == [second] and claim.next_due_ms == clock.now_ms() + 1_000
    with backend.subscribe("done") as subscription:
        effects = Effects(writes=[Write("results:2", [2])], publishes=[Publish("done", "2")])
        claim = backend.ack_many_and_claim(
            [(second, effects)], queues=["q"], limit=5, lease_ms=1_000
        )
        assert subscription.get(5_000) == "2"
    assert claim.messages == [first] and backend.get("results:2") == [2]
    assert backend.extend([first, second], lease_ms=2_000) == [second]
    backend.release([first])
    (first_again,) = backend.claim(["q"], limit=5, lease_ms=1_000).messages
    backend.retry(first_again.increment_retries(clock.now_ms()))
    clock.advance(5_000)
    claimed = backend.claim(["q"], limit=5, lease_ms=1_000).messages
    assert [m.uuid for m in claimed] == [late.uuid, first.uuid]
    backend.fail(claimed[0], dlq_ttl=60_000)
    assert [m.uuid for m in backend.dead_letters("q")] == [late.uuid]

    corrupt = Message("t", queue="q", created_at=clock.now_ms())
    backend.submit(corrupt)
    backend.client.set(backend.full_name(message_name(corrupt)), b"\xff\x00")
    assert backend.claim(["q"], limit=5, lease_ms=1_000).corrupt == [message_name(corrupt)]

    backend.set("k", {"a": 1}, ttl=60_000)
    assert backend.get_many(["k", "nope"])[0] == {"a": 1}
    assert sorted(backend.scan("results:")) == ["results:2"]

    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(backend.wait_for_work(["w"], 5_000)))
    waiter.start()
    backend.submit(Message("t", queue="w", created_at=clock.now_ms()))
    waiter.join(5)
    assert woke == [True]
    backend.clear_namespace()
    backend.close()
