"""Callback chains: nest_callbacks, descendant_uuids and next_callback."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsek.domain.model.callback import nest_callbacks, next_callback
from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message

LENGTHS = st.integers(min_value=1, max_value=6)


def chain_of(length: int) -> list[Message]:
    return [
        Message(f"task_{i}", args=(i,), kwargs={"i": i}, uuid=f"u{i}", created_at=1_000 + i)
        for i in range(length)
    ]


def nested_by_hand(length: int) -> Message:
    """What the tour's nested ``generate(callback=generate(callback=...))`` style builds."""
    inner = None
    for message in reversed(chain_of(length)):
        message.callback_message_data = inner.data if inner else None
        inner = message
    assert inner is not None
    return inner


@given(LENGTHS)
def test_a_tuple_nests_like_the_hand_written_chain(length):
    assert nest_callbacks(tuple(chain_of(length))) == nested_by_hand(length)
    assert nest_callbacks(chain_of(length)) == nested_by_hand(length)


@given(LENGTHS)
def test_descendant_uuids_list_the_chain_in_order(length):
    chain = chain_of(length)
    head = nest_callbacks(tuple(chain))
    expected = [m.uuid for m in chain[1:]]
    assert head.descendant_uuids == (expected or None)


@given(LENGTHS)
def test_nesting_updates_the_messages_in_place(length):
    chain = chain_of(length)
    head = nest_callbacks(tuple(chain))
    assert head is chain[0]
    for earlier, later in zip(chain[:-1], chain[1:], strict=True):
        assert earlier.callback_message_data == later.data
    assert chain[-1].callback_message_data is None


def test_a_single_message_is_returned_unchanged():
    message = Message("t")
    assert nest_callbacks(message) is message
    assert message.callback_message_data is None


def test_the_last_message_may_carry_its_own_chain():
    last = Message("last", uuid="last", callback_message_data=Message("tail", uuid="tail").data)
    head = nest_callbacks((Message("head", uuid="head"), last))
    assert head.descendant_uuids == ["last", "tail"]


@pytest.mark.parametrize(
    "callback",
    [
        (),
        [],
        (Message("a"), "not a message"),
        (Message("a", callback_message_data=Message("x").data), Message("b")),
    ],
)
def test_invalid_chains_raise(callback):
    with pytest.raises(ValidationError):
        nest_callbacks(callback)


@given(LENGTHS, st.lists(st.integers(), min_size=6, max_size=6))
def test_walking_the_chain_fills_results_and_lineage(length, results):
    chain = chain_of(length)
    finished = nest_callbacks(tuple(chain))
    root = finished.uuid
    for position in range(1, length):
        callback = next_callback(finished, results[position])
        assert callback is not None
        assert callback.uuid == chain[position].uuid
        assert callback.task_name == chain[position].task_name
        assert callback.args == chain[position].args
        assert callback.previous_result == results[position]
        assert callback.previous_message_uuid == finished.uuid
        assert callback.progenitor_uuid == root
        finished = callback
    assert next_callback(finished, "end") is None


def test_next_callback_keeps_an_existing_progenitor():
    finished = Message(
        "a", progenitor_uuid="origin", callback_message_data=Message("b", uuid="b").data
    )
    callback = next_callback(finished, 1)
    assert callback is not None and callback.progenitor_uuid == "origin"


def test_next_callback_leaves_the_finished_message_alone():
    finished = nest_callbacks((Message("a"), Message("b")))
    before = finished.data
    next_callback(finished, {"result": 1})
    assert finished.data == before
    assert finished.callback_message_data["previous_result"] is None
