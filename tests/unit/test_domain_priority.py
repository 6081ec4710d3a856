"""Priority ordering: examples and Hypothesis properties of alsek.domain.model.priority."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsek.domain.model.errors import ValidationError
from alsek.domain.model.priority import (
    PRIORITY_MAX,
    PRIORITY_MIN,
    SEQUENCE_SPAN,
    ready_score,
    validate_priority,
)

PRIORITIES = st.integers(min_value=PRIORITY_MIN, max_value=PRIORITY_MAX)
SEQUENCES = st.integers(min_value=0, max_value=SEQUENCE_SPAN - 1)


@given(PRIORITIES, SEQUENCES, PRIORITIES, SEQUENCES)
def test_score_order_is_priority_then_sequence(p1, s1, p2, s2):
    a, b = ready_score(p1, s1), ready_score(p2, s2)
    assert (a < b) == ((p1, s1) < (p2, s2))
    assert (a == b) == ((p1, s1) == (p2, s2))


@given(PRIORITIES, SEQUENCES)
def test_score_is_exact_as_a_double(priority, sequence):
    # Redis sorted-set scores are doubles: the score must survive the conversion unchanged.
    score = ready_score(priority, sequence)
    assert int(float(score)) == score


@given(st.lists(st.tuples(PRIORITIES, SEQUENCES), unique_by=lambda t: t[1], max_size=50))
def test_sorting_by_score_sorts_by_priority_then_fifo(entries):
    by_score = sorted(entries, key=lambda e: ready_score(*e))
    assert by_score == sorted(entries)


@given(PRIORITIES)
def test_valid_priorities_pass_through(priority):
    assert validate_priority(priority) == priority


def test_range_ends():
    assert validate_priority(PRIORITY_MIN) == PRIORITY_MIN
    assert validate_priority(PRIORITY_MAX) == PRIORITY_MAX


@pytest.mark.parametrize(
    "bad", [PRIORITY_MIN - 1, PRIORITY_MAX + 1, 10**30, True, False, 1.0, "1", None]
)
def test_invalid_priorities_raise(bad):
    with pytest.raises(ValidationError, match="priority"):
        validate_priority(bad)
