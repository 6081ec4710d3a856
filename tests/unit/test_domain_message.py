"""Messages: construction, validation, persistence round trips and time rules."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsek.adapters.serialization.json import JsonSerializer
from alsek.domain.model.backoff import ConstantBackoff, ExponentialBackoff, LinearBackoff
from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.priority import PRIORITY_MAX, PRIORITY_MIN

NAME_CHARS = st.characters(codec="ascii", categories=["L", "N"], include_characters="_-.")
NAMES = st.text(NAME_CHARS, min_size=1, max_size=20)
MS = st.integers(min_value=0, max_value=2**45)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
POLICIES = st.sampled_from(
    [ExponentialBackoff(), ConstantBackoff(constant=5), LinearBackoff(factor=7, floor=None)]
)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    """Valid messages whose every value JSON holds exactly (no tuples below the top level)."""
    created_at = draw(MS)
    return Message(
        task_name=draw(NAMES),
        queue=draw(NAMES),
        args=draw(st.lists(JSON_VALUES, max_size=3)),
        kwargs=draw(st.dictionaries(NAMES, JSON_VALUES, max_size=3)),
        priority=draw(st.integers(min_value=PRIORITY_MIN, max_value=PRIORITY_MAX)),
        metadata=draw(st.none() | st.dictionaries(NAMES, JSON_VALUES, max_size=2)),
        result_ttl=draw(st.none() | MS),
        uuid=draw(st.uuids()).hex,
        progenitor_uuid=draw(st.none() | st.uuids().map(str)),
        retries=draw(st.integers(min_value=0, max_value=50)),
        timeout=draw(st.integers(min_value=1, max_value=10**9)),
        created_at=created_at,
        updated_at=created_at + draw(st.integers(min_value=0, max_value=10**6)),
        delay=draw(st.integers(min_value=0, max_value=10**9)),
        previous_result=draw(JSON_VALUES),
        previous_message_uuid=draw(st.none() | st.uuids().map(str)),
        backoff_settings=draw(POLICIES).settings,
        mechanism=draw(st.sampled_from(["process", "thread"])),
    )


# -- round trips ----------------------------------------------------------------------------------


@given(messages())
def test_from_data_inverts_data(message):
    assert Message.from_data(message.data) == message
    assert Message.from_data(message.data).data == message.data


@given(messages())
def test_json_round_trip(message):
    serializer = JsonSerializer()
    assert Message.from_data(serializer.reverse(serializer.forward(message.data))) == message


@given(messages())
def test_clone_is_equal_and_independent(message):
    clone = message.clone()
    assert clone == message and clone is not message
    clone.kwargs["__new__"] = 1
    assert "__new__" not in message.kwargs


def test_json_round_trip_of_a_message_with_a_callback():
    serializer = JsonSerializer()
    message = Message("a", callback_message_data=Message("b", args=(1,)).data)
    assert Message.from_data(serializer.reverse(serializer.forward(message.data))) == message


# -- construction ---------------------------------------------------------------------------------


def test_defaults():
    message = Message("task")
    assert message.queue == "alsek_queue"
    assert message.args == () and message.kwargs == {}
    assert message.priority == 0 and message.retries == 0 and message.delay == 0
    assert message.timeout == 3_600_000
    assert message.mechanism == "process"
    assert message.updated_at == message.created_at
    assert message.backoff_settings == ExponentialBackoff().settings
    assert message.uuid and message.uuid != Message("task").uuid
    assert message.descendant_uuids is None


def test_default_backoff_settings_are_not_shared():
    first, second = Message("a"), Message("b")
    first.backoff_settings["parameters"]["base"] = 99
    assert second.backoff_settings == ExponentialBackoff().settings


def test_args_become_a_tuple():
    assert Message("t", args=[1, 2]).args == (1, 2)
    assert Message("t", args=None).args == ()


INVALID_FIELDS = [
    {"args": "ab"},
    {"kwargs": [("a", 1)]},
    {"priority": PRIORITY_MAX + 1},
    {"priority": 1.5},
    {"queue": "bad:queue"},
    {"delay": -1},
    {"retries": -1},
    {"result_ttl": -5},
    {"timeout": 0},
    {"timeout": True},
    {"mechanism": "fiber"},
    {"callback_message_data": 5},
]


@pytest.mark.parametrize("fields", INVALID_FIELDS)
def test_invalid_fields_raise(fields):
    with pytest.raises(ValidationError):
        Message("task", **fields)


@pytest.mark.parametrize("fields", [*INVALID_FIELDS, {"task_name": ""}, {"queue": 7}, {"uuid": 7}])
def test_invalid_fields_of_a_stored_mapping_raise(fields):
    """A mapping with every field (what a worker decodes, through the fast path) is checked as
    the constructor checks: a ValidationError, never a TypeError or a half-built message."""
    data = {**Message("task").data, **fields}
    with pytest.raises(ValidationError):
        Message.from_data(data)


@given(messages())
def test_a_stored_mapping_decodes_as_the_constructor_builds(message):
    data = message.data
    decoded, built = Message.from_data(dict(data)), Message(**data)
    assert decoded.data == built.data
    assert isinstance(decoded.args, tuple) and decoded.lease_token is None
    assert repr(decoded) == repr(built)


@pytest.mark.parametrize("task_name", ["", "a*b", None])
def test_invalid_task_names_raise(task_name):
    with pytest.raises(ValidationError):
        Message(task_name)


@pytest.mark.parametrize("data", [{"task_name": "t", "unknown": 1}, {"queue": "q"}, {}])
def test_from_data_rejects_what_is_not_a_message(data):
    with pytest.raises(ValidationError):
        Message.from_data(data)


# -- time -----------------------------------------------------------------------------------------


def test_ready_at_of_a_new_message_is_created_at_plus_delay():
    message = Message("t", created_at=1_000, delay=500)
    assert message.ready_at == 1_500
    assert not message.is_ready(1_499) and message.is_ready(1_500)
    assert message.time_to_ready(1_200) == 300
    assert message.time_to_ready(9_999) == 0


@given(messages(), MS)
def test_a_retried_message_waits_its_backoff_after_the_retry(message, now):
    before, retried_at = message.retries, message.updated_at + now
    message.increment_retries(retried_at)
    assert message.retries == before + 1
    assert message.updated_at == retried_at
    assert message.ready_at == message.updated_at + message.backoff_duration()
    assert message.backoff_duration() >= 0


def test_ready_and_ttr_use_the_wall_clock():
    assert Message("t").ready is True
    assert Message("t").ttr == 0
    assert Message("t", delay=3_600_000).ready is False


# -- mutation and display -------------------------------------------------------------------------


def test_update_sets_fields_and_rejects_unknown_ones():
    message = Message("t")
    assert message.update(priority=3, metadata={"a": 1}) is message
    assert message.priority == 3 and message.metadata == {"a": 1}
    with pytest.raises(KeyError):
        message.update(colour="red")


def test_generated_uuids_are_canonical_random_version_4():
    seen = {Message("t").uuid for _ in range(2000)}
    assert len(seen) == 2000
    for text in seen:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


def test_default_backoff_settings_are_not_shared_between_messages():
    first, second = Message("t"), Message("t")
    first.backoff_settings["parameters"]["base"] = 99
    assert second.backoff_settings == ExponentialBackoff().settings
    assert Message("t").backoff_settings == ExponentialBackoff().settings


def test_duplicate_gets_a_new_uuid():
    message = Message("t", args=(1,))
    copy = message.duplicate()
    assert copy.uuid != message.uuid and copy.args == message.args
    assert message.duplicate("fixed").uuid == "fixed"


def test_add_to_metadata_merges():
    message = Message("t", metadata={"a": 1})
    message.add_to_metadata(b=2).add_to_metadata(a=3)
    assert message.metadata == {"a": 3, "b": 2}
    with pytest.raises(ValidationError):
        message.add_to_metadata()


def test_summary_and_repr():
    message = Message("simple_task", uuid="u-1", created_at=1_617_861_556_424)
    assert message.summary == "Message(uuid='u-1', queue='alsek_queue', task='simple_task')"
    text = repr(message)
    assert text.startswith("Message(\n    task_name='simple_task',\n    queue='alsek_queue',")
    assert "created_at='2021-04-08 05:59:16.424000'" in text
    assert text.index("uuid=") < text.index("retries=") < text.index("mechanism=")


def test_messages_are_equal_by_data_and_unhashable():
    message = Message("t")
    assert message == message.clone()
    assert message != message.duplicate()
    assert message != message.data
    with pytest.raises(TypeError):
        hash(message)


# -- Alsek 1.3.2 ------------------------------------------------------------------------------


def test_linked_lock_is_data_and_released_when_the_message_is_settled():
    from alsek import Broker, Lock
    from alsek.adapters.memory import InMemoryBackend

    broker = Broker(InMemoryBackend())
    lock = Lock("shared", broker.backend)
    assert lock.acquire()
    message = Message("t").link_lock(lock)
    assert message.data["linked_lock"] == {"name": "shared", "owner_id": lock.owner_id}
    assert Message(**message.data).linked_lock == message.linked_lock
    assert "linked_lock" not in repr(message)
    assert message.duplicate().linked_lock is None
    with pytest.raises(AttributeError):
        message.link_lock(lock)
    broker.submit(message)
    broker.ack(message)
    assert message.linked_lock is None and not lock.held
    assert not message.release_lock(not_linked_ok=True, target_backend=broker.backend)
    with pytest.raises(AttributeError):
        message.release_lock(not_linked_ok=False, target_backend=broker.backend)


def test_other_alsek_1_3_2_conveniences():
    from alsek.utils.parsing import ExceptionDetails

    message = Message("t", retries=2, backoff_settings=ConstantBackoff(5, floor=0).settings)
    assert message.get_backoff_duration() == message.backoff_duration() == 5
    message.add_to_metadata(a={"x": 1}).add_to_metadata(a={"y": 2}, b=3)
    assert message.metadata == {"a": {"x": 1, "y": 2}, "b": 3}
    details = ExceptionDetails(name="KeyError", text="'k'", traceback=None)
    message.update(exception_details=details)
    assert message.exception_details == {"name": "KeyError", "text": "'k'", "traceback": None}
    with pytest.raises(KeyError):
        ExceptionDetails(**message.exception_details).raise_as_exception()
