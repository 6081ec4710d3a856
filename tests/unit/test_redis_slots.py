"""Effects split by cluster slot: what stays with a queue operation and what is a separate
step, one group per slot."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.slots import SlotSplitter, slot_of
from alsek.domain.model.effects import Effects, Publish, Write
from alsek.domain.model.message import Message
from alsek.domain.model.naming import dlq_name

KEYS = KeyLayout("alsek")
SPLITTER = SlotSplitter(KEYS)
names = st.sampled_from(["results:a", "status:a", "results:b", "status:zz", "revoked:c"])
queues = st.sampled_from(["q", "other", "math_ops"])


def _slots(effects: Effects) -> set[int]:
    return {
        slot_of(KEYS.full_name(n)) for n in (*[w.name for w in effects.writes], *effects.deletes)
    } | {SPLITTER.queue_slot(str(m.queue)) for m in effects.submits}


@given(
    writes=st.lists(names, max_size=4),
    deletes=st.lists(names, max_size=3),
    callbacks=st.lists(queues, max_size=3),
    publishes=st.integers(0, 2),
)
def test_each_part_holds_one_slot_and_nothing_is_lost(writes, deletes, callbacks, publishes):
    effects = Effects(
        writes=[Write(n, 1) for n in writes],
        deletes=deletes,
        submits=[Message("t", queue=q) for q in callbacks],
        publishes=[Publish(f"c{i}", i) for i in range(publishes)],
    )
    home_slot = SPLITTER.queue_slot("q")
    home, others = SPLITTER.split(effects, home_slot)
    assert _slots(home) <= {home_slot}
    assert all(len(_slots(part)) == 1 and _slots(part) != {home_slot} for part in others)
    assert len({frozenset(_slots(part)) for part in others}) == len(others)
    total = sum(others, home)
    assert sorted(w.name for w in total.writes) == sorted(writes)
    assert sorted(total.deletes) == sorted(deletes)
    assert sorted(str(m.queue) for m in total.submits) == sorted(callbacks)
    assert total.publishes == effects.publishes
    assert (others[-1] if others else home).publishes == effects.publishes  # after the writes


def test_a_dead_letter_and_a_callback_of_the_same_queue_stay_home():
    message = Message("t", queue="q")
    effects = Effects(deletes=[dlq_name(message)], submits=[Message("t", queue="q")])
    assert SPLITTER.split(effects, SPLITTER.queue_slot("q")) == (effects, [])
