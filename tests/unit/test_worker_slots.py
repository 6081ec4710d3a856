"""The process pool's shared-memory slots: what a child writes is what the supervisor reads."""

from __future__ import annotations

import multiprocessing
import struct

from hypothesis import given
from hypothesis import strategies as st

from alsek.domain.model.message import Message
from alsek.worker.process.slots import SLOT_BYTES, SlotState, SlotTable

CONTEXT = multiprocessing.get_context()
MESSAGES = [Message("one", queue="q1"), Message("two", queue="q2")]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(SlotState)),
            st.sampled_from([None, 0, 1]),
            st.sampled_from([None, "token-a", "token-b"]),
            st.integers(0, 2**62),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_a_read_gives_the_last_write(writes: list[tuple]) -> None:
    table = SlotTable(2, CONTEXT)
    for state, which, token, deadline in writes:
        message = None if which is None else MESSAGES[which]
        if message is not None:
            message.lease_token = token  # the same message object, its lease token changed
        table.write(1, state, message, deadline)
        view = table.read(1)
        assert (view.state, view.deadline_ms) == (state, deadline)
        if message is None:
            assert (view.queue, view.task, view.uuid, view.token) == ("", "", "", "")
        else:
            assert (view.queue, view.task, view.uuid) == (
                message.queue,
                message.task_name,
                message.uuid,
            )
            assert view.token == (token or "")
    assert table.read(0).state == SlotState.IDLE, "the other slot is untouched"


def test_a_write_killed_halfway_reads_idle_with_an_odd_sequence() -> None:
    table = SlotTable(1, CONTEXT)
    table.write(0, SlotState.RUNNING, MESSAGES[0], 10)
    before = table.read(0).sequence
    struct.pack_into("<q", memoryview(table._buffer).cast("B"), 0, before + 1)  # odd: torn
    view = table.read(0)
    assert view.state == SlotState.IDLE and view.sequence % 2 == 1
    table.write(0, SlotState.IDLE)
    assert table.read(0).sequence % 2 == 0, "the next write repairs the slot"


def test_the_table_travels_without_its_process_local_view() -> None:
    table = SlotTable(1, CONTEXT)
    table.write(0, SlotState.RUNNING, MESSAGES[0], 5)
    state = table.__getstate__()
    assert set(state) == {"n", "_buffer"}
    copy = SlotTable.__new__(SlotTable)
    copy.__setstate__(state)
    assert copy.read(0).uuid == MESSAGES[0].uuid and len(copy._buffer) == SLOT_BYTES
