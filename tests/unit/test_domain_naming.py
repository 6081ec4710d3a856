"""Storage names and the validation of queue and task names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import (
    dlq_name,
    dlq_prefix,
    message_name,
    queue_prefix,
    validate_queue_name,
    validate_task_name,
)

QUEUE_FORBIDDEN = set("{}:*?[]\\ \t\n|") | {c for c in map(chr, range(0x3000 + 1)) if c.isspace()}
TASK_FORBIDDEN = set("{}*?[]\\\n|")


@given(st.text(max_size=12))
def test_queue_names_are_accepted_exactly_without_forbidden_characters(name):
    if name and not QUEUE_FORBIDDEN.intersection(name):
        assert validate_queue_name(name) == name
    else:
        with pytest.raises(ValidationError):
            validate_queue_name(name)


@given(st.text(max_size=12))
def test_task_names_are_accepted_exactly_without_forbidden_characters(name):
    if name and not TASK_FORBIDDEN.intersection(name):
        assert validate_task_name(name) == name
    else:
        with pytest.raises(ValidationError):
            validate_task_name(name)


@pytest.mark.parametrize("bad", [None, 1, b"q", ["q"]])
def test_names_must_be_strings(bad):
    with pytest.raises(ValidationError):
        validate_queue_name(bad)
    with pytest.raises(ValidationError):
        validate_task_name(bad)


def test_error_names_the_bad_characters():
    with pytest.raises(ValidationError, match=r"':'"):
        validate_queue_name("a:b")


def test_task_names_may_hold_colons_and_spaces():
    assert validate_task_name("module:my task") == "module:my task"


@pytest.mark.parametrize("space", ["\r", "\f", "\v", "\u00a0"])
def test_queue_names_reject_all_white_space(space):
    with pytest.raises(ValidationError):
        validate_queue_name(f"a{space}b")


def test_storage_names():
    message = Message("add", queue="math_ops", uuid="u-1")
    assert message_name(message) == "queues:math_ops:tasks:add:messages:u-1"
    assert message_name(message).startswith(queue_prefix("math_ops"))
    assert dlq_name(message) == "dtq:queues:math_ops:tasks:add:messages:u-1"
    assert dlq_name(message).startswith(dlq_prefix("math_ops"))
    assert dlq_name(message).startswith(dlq_prefix())
    assert dlq_prefix() == "dtq:queues"
