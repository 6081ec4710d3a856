"""RedisBackend with batches larger than one Lua ``unpack()`` can take (a few thousand values):
the scripts work through them in chunks, still in one round trip."""

from __future__ import annotations

from alsek.domain.model.effects import Effects, Write
from alsek.domain.model.message import Message
from tests.contract.fakes import FakeClock

MANY = 5_000  # ZADD of the leases would take 10,000 values


def _submit_many(backend, clock, count=MANY):
    messages = [Message("t", queue="q", created_at=clock.now_ms()) for _ in range(count)]
    for message in messages:
        backend.submit(message)
    return messages


def test_a_claim_larger_than_one_unpack(make_redis_backend):
    clock = FakeClock()
    backend = make_redis_backend(clock=clock)
    messages = _submit_many(backend, clock)
    claim = backend.claim(["q"], limit=MANY + 10, lease_ms=1_000)
    assert [m.uuid for m in claim.messages] == [m.uuid for m in messages]
    assert backend.extend(claim.messages, lease_ms=5_000) == []
    clock.advance(4_999)
    assert backend.claim(["q"], limit=MANY, lease_ms=1_000).messages == []
    clock.advance(1)  # every lease expires at once: all come back, each claim in queue order
    place = {m.uuid: i for i, m in enumerate(messages)}
    back: list[str] = []
    for _ in range(MANY):  # a claim promotes at most about a thousand (issue 15.5)
        again = [m.uuid for m in backend.claim(["q"], limit=MANY, lease_ms=60_000).messages]
        assert again == sorted(again, key=place.__getitem__)
        back += again
        if not again:
            break
    assert sorted(back, key=place.__getitem__) == [m.uuid for m in messages]


def test_effects_with_many_deletes(make_redis_backend):
    clock = FakeClock()
    backend = make_redis_backend(clock=clock)
    names = [f"results:{i}" for i in range(9_000)]  # more than one unpack() takes
    backend.client.mset({backend.full_name(name): b"1" for name in names})
    message = Message("t", queue="q", created_at=clock.now_ms())
    backend.submit(message)
    backend.ack(message, effects=Effects(deletes=names, writes=[Write("results:kept", 2)]))
    assert backend.count("results:") == 1
