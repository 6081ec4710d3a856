"""redis-py errors become alsek's at the adapter's boundary (no server needed)."""

from __future__ import annotations

import pytest
import redis

from alsek.adapters.redis.client import translate, translated
from alsek.domain.model.errors import AlsekError, BackendConnectionError, BackendError

E = redis.exceptions


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (E.ConnectionError("refused"), BackendConnectionError),
        (E.TimeoutError("slow"), BackendConnectionError),
        (E.ReadOnlyError("READONLY You can't write against a read only replica."), BackendConnectionError),
        (E.ResponseError("LOADING Redis is loading the dataset in memory"), BackendConnectionError),
        (E.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"), BackendError),
        (E.RedisClusterException("Cannot connect to any node"), BackendConnectionError),
        (E.RedisClusterException("slots are not covered"), BackendError),
    ],
)  # fmt: skip
def test_redis_errors_are_raised_as_alsek_errors_with_the_cause_kept(error, expected):
    with pytest.raises(expected) as caught, translated():
        raise error
    assert type(caught.value) is expected
    assert isinstance(caught.value, AlsekError)
    assert caught.value.__cause__ is error
    assert str(error) in str(caught.value)


def test_other_errors_pass_through_untouched():
    with pytest.raises(KeyError), translated():
        raise KeyError("mine")
    assert translate(KeyError("mine")) is None


def test_a_block_without_error_returns_normally():
    with translated():
        value = 1
    assert value == 1
