"""The serializer contract: every value the tour stores survives a round trip, and what JSON
cannot hold fails with a :class:`SerializationError` that names the problem.

Subclass :class:`SerializerContract` with a ``serializer`` fixture (a JSON serializer).
:func:`tour_values` is also what ``tour_values_contract.py`` sends through each backend.
"""

from __future__ import annotations

import decimal
import math
from typing import Any

import pytest

from alsek.adapters.memory import InMemoryBackend
from alsek.domain.model.backoff import LinearBackoff
from alsek.domain.model.errors import SerializationError
from alsek.domain.model.message import Message
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.lock import Lock
from alsek.domain.services.result_store import ResultStore
from alsek.domain.services.revocation import revocation_effects
from alsek.domain.services.status_tracker import StatusTracker
from alsek.ports.backend import Backend
from tests.contract.fakes import FakeClock

#: Results as tasks return them (the tour's examples and the usual JSON shapes).
RESULTS: dict[str, Any] = {
    "dict": {"a": 1, "b": 2, "c": 3},
    "list": [1, "two", 3.5, None, False],
    "int": 42,
    "negative int": -7,
    "64-bit int": 2**63 - 1,
    "float": 0.25,
    "str": "done ✓ – ünïcode",
    "empty str": "",
    "none": None,
    "bool": True,
    "empty containers": {"list": [], "dict": {}},
    "nested": {"rows": [{"id": 1, "tags": ["x", "y"]}, {"id": 2, "tags": []}], "n": {"m": {}}},
}


def tour_message(now_ms: int) -> Message:
    """A message using every field the tour sets: args, kwargs, metadata, a callback chain,
    a backoff policy, a previous result."""
    callback = Message("record", queue="math_ops", args=[3], created_at=now_ms)
    return Message(
        "add", queue="math_ops", args=(1, [2, 3]), kwargs={"scale": 1.5, "labels": ["ü", "✓"]},
        priority=3, metadata={"source": "tour", "deep": {"list": [None, True]}},
        result_ttl=60_000, callback_message_data=callback.data, previous_result={"sum": 3},
        backoff_settings=LinearBackoff(factor=500, ceiling=None).settings, created_at=now_ms,
    )  # fmt: skip


def tour_values(backend: Backend) -> dict[str, Any]:
    """Every kind of value the tour stores, as the services write it, by short name:
    message data, results records, statuses, a lock record, revocation marker and notice."""
    message = tour_message(backend.clock.now_ms())
    values: dict[str, Any] = {"queues:math_ops:tasks:add:messages:x": message.data}
    results = ResultStore(backend)
    for label, result in RESULTS.items():
        values[f"results:{label}"] = results.effects_for(message, result).writes[0].value
    tracker = StatusTracker(backend)
    for status in TaskStatus:
        values[f"status:{status.name}"] = tracker.effects_for(message, status).writes[0].value
    lock = Lock("tour", backend=backend, ttl=60_000)
    assert lock.acquire()
    values["locks:tour"] = backend.get(lock.long_name)
    lock.release()
    revoked = revocation_effects(message, interrupt=True, revoked_at=backend.clock.now_ms())
    values["revoked:x"] = revoked.writes[0].value
    values["revocations"] = revoked.publishes[0].value
    values["runs:x"] = 7  # a trigger task's run counter
    return values


#: Values JSON cannot hold, with the word the error must name.
UNENCODABLE: dict[str, tuple[Any, str]] = {
    "set": ({1, 2}, "set"),
    "frozenset": (frozenset([1]), "frozenset"),
    "bytes": (b"raw", "bytes"),
    "bytearray": (bytearray(b"raw"), "bytearray"),
    "object": (object(), "object"),
    "Decimal": (decimal.Decimal("1.5"), "Decimal"),
    "complex": (1j, "complex"),
    "set inside a result": ({"result": [1, {2}]}, "set"),
    "tuple key": ({(1, 2): "pair"}, "key"),
}


class SerializerContract:
    """What every JSON serializer does. Subclass it with a ``serializer`` fixture."""

    def test_every_value_the_tour_stores_round_trips(self, serializer):
        for name, value in tour_values(InMemoryBackend(clock=FakeClock())).items():
            assert serializer.reverse(serializer.forward(value)) == value, name

    def test_a_message_round_trips_to_an_equal_message(self, serializer):
        message = tour_message(1_700_000_000_000)
        assert Message.from_data(serializer.reverse(serializer.forward(message.data))) == message

    def test_tuples_come_back_as_lists_and_keys_as_strings(self, serializer):
        value = {"pair": (1, (2, 3)), 1: "int key", None: "none key"}
        assert serializer.reverse(serializer.forward(value)) == {
            "pair": [1, [2, 3]], "1": "int key", "null": "none key",
        }  # fmt: skip

    @pytest.mark.parametrize("label", sorted(UNENCODABLE))
    def test_what_json_cannot_hold_raises_a_clear_error(self, serializer, label):
        value, word = UNENCODABLE[label]
        with pytest.raises(SerializationError, match="cannot encode as JSON") as caught:
            serializer.forward(value)
        assert word in str(caught.value)

    def test_nan_and_infinity_are_stored_as_null(self, serializer):
        value = [math.nan, math.inf, -math.inf, {"x": math.nan}, 1.5]
        assert serializer.reverse(serializer.forward(value)) == [None, None, None, {"x": None}, 1.5]

    @pytest.mark.parametrize("data", [b"\xff\x00 not json", b"{", b"", "[1,"])
    def test_what_is_not_json_fails_to_decode_with_a_clear_error(self, serializer, data):
        with pytest.raises(SerializationError, match="cannot decode JSON"):
            serializer.reverse(data)
