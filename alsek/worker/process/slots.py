"""Shared-memory slots through which a process pool's children tell the supervisor what they run.

One slot per child: its state (idle, running, settling), the deadline of the
running message and the message's queue, task, uuid and lease token. Writing a slot costs a few microseconds
and no system call, so a child reports every task without slowing down. Each write is guarded by
a sequence number (odd while writing), so the supervisor never reads half a write, and the number
tells it whether a run it judged is still the one in the slot.
"""

from __future__ import annotations

import enum
import struct
import time
from typing import Any

from attrs import frozen

from alsek.domain.model.message import Message

#: Longest ``queue``, ``task``, ``uuid`` and lease token together (bytes, UTF-8) a slot can hold.
NAME_BYTES = 1_000
_HEADER = struct.Struct("<qqqH")  # sequence, state, deadline_ms, name length
_SEQUENCE = struct.Struct("<q")
SLOT_BYTES = _HEADER.size + NAME_BYTES
_SEPARATOR = "\x00"
_SPINS = 20
_READ_ATTEMPTS = 200  # spins, then pauses of _PAUSE_S: at most about 0.1 s
_PAUSE_S = 0.0005


class SlotState(enum.IntEnum):
    """What a child is doing."""

    IDLE = 0  # waiting for its next message, or starting
    RUNNING = 2  # running the message in the slot
    SETTLING = 3  # acknowledging, retrying or failing the message in the slot


@frozen
class SlotView:
    """A consistent reading of a slot.

    Attributes:
        sequence: changes with every write.
        state: what the child is doing.
        deadline_ms: when the running message times out (ms since the epoch).
        queue: the message's queue ("" unless running or settling).
        task: its task name.
        uuid: its uuid.
        token: the owner token of its lease ("" if none).
    """

    sequence: int
    state: SlotState
    deadline_ms: int
    queue: str = ""
    task: str = ""
    uuid: str = ""
    token: str = ""

    def stub(self) -> Message:
        """A stand-in for the running message, enough to renew or release its lease (as the
        lease's holder)."""
        message = Message(task_name=self.task, queue=self.queue, uuid=self.uuid)
        message.lease_token = self.token or None
        return message


class SlotTable:
    """``n`` slots in shared memory, made before the children start (so they inherit it).

    Args:
        n: how many slots.
        context: the multiprocessing context (its ``RawArray`` is inherited or pickled).
    """

    def __init__(self, n: int, context: Any) -> None:
        self.n = n
        self._buffer = context.RawArray("B", n * SLOT_BYTES)
        self._memory: memoryview | None = None  # made once per process, on first use
        self._named: tuple[Message | None, str | None, bytes] = (None, None, b"")

    def __len__(self) -> int:
        return self.n

    def __getstate__(self) -> dict[str, Any]:
        return {"n": self.n, "_buffer": self._buffer}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.n, self._buffer = state["n"], state["_buffer"]
        self._memory, self._named = None, (None, None, b"")

    def _view(self) -> memoryview:
        if self._memory is None:
            self._memory = memoryview(self._buffer).cast("B")
        return self._memory

    def _name(self, message: Message) -> bytes:
        """The slot's name bytes for ``message`` (the last message's, reused while unchanged)."""
        last, token, name = self._named
        if message is not last or message.lease_token != token:
            parts = (message.queue, message.task_name, message.uuid, message.lease_token or "")
            name = _SEPARATOR.join(map(str, parts)).encode()[:NAME_BYTES]
            self._named = (message, message.lease_token, name)
        return name

    def write(self, index: int, state: SlotState, message: Message | None = None,
              deadline_ms: int = 0) -> None:  # fmt: skip
        """Record (from the child) what slot ``index``'s child does now."""
        name = b"" if message is None else self._name(message)
        view, offset = self._view(), index * SLOT_BYTES
        current = _SEQUENCE.unpack_from(view, offset)[0]
        writing = current if current % 2 else current + 1  # odd: a write killed halfway stays odd
        _SEQUENCE.pack_into(view, offset, writing)
        view[offset + _HEADER.size : offset + _HEADER.size + len(name)] = name
        _HEADER.pack_into(view, offset, writing, state, deadline_ms, len(name))
        _SEQUENCE.pack_into(view, offset, writing + 1)  # even: done

    def read(self, index: int) -> SlotView:
        """A consistent reading of slot ``index`` (from the supervisor).

        A writer preempted halfway is waited for briefly; a slot that stays torn (its writer was
        killed halfway) reads as idle with an odd sequence number, which no run ever has.
        """
        view, offset = self._view(), index * SLOT_BYTES
        sequence = 1
        for attempt in range(_READ_ATTEMPTS):
            sequence, state, deadline, length = _HEADER.unpack_from(view, offset)
            raw = bytes(view[offset + _HEADER.size : offset + _HEADER.size + length])
            if sequence % 2 == 0 and _SEQUENCE.unpack_from(view, offset)[0] == sequence:
                return _parse(sequence, state, deadline, raw)
            if attempt >= _SPINS:
                time.sleep(_PAUSE_S)
        return SlotView(sequence=sequence | 1, state=SlotState.IDLE, deadline_ms=0)

    def reset(self, index: int) -> None:
        """Mark slot ``index`` idle (before a new child takes it)."""
        self.write(index, SlotState.IDLE)


def _parse(sequence: int, state: int, deadline: int, raw: bytes) -> SlotView:
    if not raw:
        return SlotView(sequence=sequence, state=SlotState(state), deadline_ms=deadline)
    queue, task, uuid, token = raw.decode(errors="replace").split(_SEPARATOR, 3)
    return SlotView(sequence, SlotState(state), deadline, queue, task, uuid, token)
