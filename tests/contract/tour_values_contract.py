"""The values the tour stores survive each backend, through its own serializer and storage."""

from __future__ import annotations

import pytest

from alsek.domain.model.errors import SerializationError
from alsek.domain.model.message import Message
from tests.contract.serializer_contract import UNENCODABLE, tour_message, tour_values
from tests.contract.support import ContractBase


class TourValuesContract(ContractBase):
    """Results, statuses, locks, markers and messages come back as they were stored."""

    def test_every_value_the_tour_stores_round_trips(self, backend):
        values = tour_values(backend)
        for name, value in values.items():
            backend.set(name, value)
        assert backend.get_many(list(values)) == list(values.values())

    def test_a_tour_message_round_trips_through_claim_and_the_dead_letter_queue(
        self, backend, clock
    ):
        message = tour_message(clock.now_ms())
        backend.submit(message)
        (claimed,) = self.claim(backend, "math_ops").messages
        assert claimed == message and claimed.data == message.data
        backend.fail(claimed, dlq_ttl=60_000)
        assert list(backend.dead_letters("math_ops")) == [message]

    @pytest.mark.parametrize("label", sorted(UNENCODABLE))
    def test_what_json_cannot_hold_is_refused_and_nothing_is_written(self, backend, clock, label):
        value, word = UNENCODABLE[label]
        with pytest.raises(SerializationError, match=word):
            backend.set("results:x", {"result": value})
        message = Message("add", queue="q", args=[value], created_at=clock.now_ms())
        with pytest.raises(SerializationError, match=word):
            backend.submit(message)
        assert not backend.exists("results:x")
        assert backend.depth("q") == 0
