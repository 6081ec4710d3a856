"""Tasks: decoration-time validation, generate(), defer(), callbacks and the message parameter."""

from __future__ import annotations

import pytest

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.core.backoff import ConstantBackoff, LinearBackoff
from alsek.core.task import Task, TriggerTask
from alsek.domain.model.errors import (
    MessageAlreadyExistsError,
    SerializationError,
    TaskNameCollisionError,
    ValidationError,
)


@pytest.fixture
def broker() -> Broker:
    return Broker(InMemoryBackend())


def test_the_function_still_works_when_called_directly() -> None:
    @task(...)
    def add(a: int, b: int) -> int:
        return a + b

    assert add(1, b=1) == 2
    assert add.__name__ == "add"


def test_generate_submits_a_message_with_the_task_defaults(broker: Broker) -> None:
    @task(broker, queue="math", priority=2, timeout=90_000, backoff=LinearBackoff(factor=5))
    def add(a: int, b: int) -> int:
        return a + b

    message = add.generate(args=(1, 2), kwargs={}, metadata={"who": "me"})
    assert broker.exists(message)
    assert (message.task_name, message.queue, message.priority) == ("add", "math", 2)
    assert message.timeout == 90_000
    assert message.backoff_settings == LinearBackoff(factor=5).settings
    assert broker.backend.count("queues:math") == 1


def test_generate_overrides(broker: Broker) -> None:
    @task(broker)
    def noop() -> None:
        return None

    message = noop.generate(priority=7, queue="other", timeout_override=5, delay=1_000, uuid="u1")
    assert (message.priority, message.queue, message.timeout, message.delay) == (
        7,
        "other",
        5,
        1_000,
    )
    assert message.uuid == "u1"
    assert message.ready_at == message.created_at + 1_000


def test_backoff_none_means_no_wait(broker: Broker) -> None:
    @task(broker, backoff=None)
    def noop() -> None:
        return None

    expected = ConstantBackoff(constant=0, floor=0, ceiling=0, zero_override=True)
    assert noop.generate(submit=False).backoff_settings == expected.settings


def test_submit_false_and_defer_skip_submission(broker: Broker) -> None:
    @task(broker)
    def noop() -> None:
        return None

    assert not broker.exists(noop.generate(submit=False))
    assert not broker.exists(noop.defer().generate())
    assert not noop.deferred  # cancelled by generate()
    assert broker.exists(noop.generate())


def test_unencodable_arguments_fail_cleanly_and_store_nothing(broker: Broker) -> None:
    @task(broker)
    def take(x: object) -> None:
        return None

    with pytest.raises(SerializationError):
        take.generate(args=(object(),))
    assert broker.backend.count("queues") == 0


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"timeout": -1}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"priority": "high"}, "priority"),
        ({"mechanism": "fiber"}, "mechanism"),
        ({"max_retries": -2}, "max_retries"),
        ({"backoff": 5}, "backoff"),
        ({"queue": "a:b"}, "queue"),
        ({"base_task": dict}, "base_task"),
    ],
)
def test_invalid_options_fail_at_decoration_time(
    broker: Broker, options: dict, complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        task(broker, **options)(lambda: None)


def test_a_trigger_task_with_parameters_is_rejected(broker: Broker) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    with pytest.raises(ValidationError, match="parameters"):

        @task(broker, trigger=IntervalTrigger(hours=1))
        def needs(x: int) -> int:
            return x


def test_a_trigger_must_be_an_apscheduler_trigger(broker: Broker) -> None:
    with pytest.raises(ValidationError, match="trigger"):
        task(broker, trigger="every hour")(lambda: None)


def test_trigger_gives_a_trigger_task_and_keeps_a_base_task(broker: Broker) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    class Custom(Task):
        def do_callback(self, message: Message, result: object) -> bool:
            return False

    @task(broker, trigger=IntervalTrigger(hours=1), base_task=Custom)
    def tick() -> int:
        return 1

    assert isinstance(tick, TriggerTask) and isinstance(tick, Custom)


def test_name_collisions_fail_at_decoration_time(broker: Broker) -> None:
    @task(broker, name="job")
    def first() -> None:
        return None

    with pytest.raises(TaskNameCollisionError, match="job"):

        @task(broker, name="job")
        def second() -> None:
            return None


def test_redecorating_the_same_function_is_not_a_collision(broker: Broker) -> None:
    def job() -> None:
        return None

    task(broker)(job)
    task(broker)(job)
    assert "job" in broker.tasks


def test_a_task_without_a_broker_gets_one_on_the_default_backend_without_connecting() -> None:
    @task(...)
    def lonely() -> None:
        return None

    @task()
    def other() -> None:
        return None

    assert isinstance(lonely.broker, Broker) and lonely.broker is not other.broker
    assert lonely.broker.backend is other.broker.backend


def test_a_broker_of_the_wrong_type_is_rejected() -> None:
    with pytest.raises(ValidationError, match="broker"):
        task("redis://localhost")


def test_callback_tuple_is_nested(broker: Broker) -> None:
    @task(broker)
    def add_1(number: int) -> int:
        return number + 1

    @task(broker)
    def add_1_previous(message: Message) -> int:
        return message.previous_result + 1

    chain = (add_1_previous.defer().generate(), add_1_previous.defer().generate())
    message = add_1.generate(args=(1,), callback=chain)
    assert message.descendant_uuids == [chain[0].uuid, chain[1].uuid]
    assert chain[0].callback_message_data == chain[1].data
    assert not broker.exists(chain[0]) and not broker.exists(chain[1])


def test_callbacks_may_not_include_trigger_tasks(broker: Broker) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    @task(broker, trigger=IntervalTrigger(hours=1))
    def tick() -> int:
        return 1

    @task(broker)
    def first() -> int:
        return 1

    with pytest.raises(ValidationError, match="trigger"):
        first.generate(callback=tick.generate(submit=False))


def _message_for(fn: Task, **kwargs: object) -> Message:
    return Message(fn.name, kwargs=dict(kwargs))


def test_the_message_is_passed_to_a_message_parameter() -> None:
    @task(...)
    def plain(message):  # noqa: ANN001 - no hint: still passed
        return message

    @task(...)
    def hinted(message: Message) -> Message:
        return message

    for fn in (plain, hinted):
        m = _message_for(fn)
        assert fn.op(m) is m


def test_the_message_is_not_passed_when_kwargs_hold_message_or_the_hint_differs() -> None:
    @task(...)
    def hinted_str(message: str) -> str:
        return message

    @task(...)
    def plain(message=None):  # noqa: ANN001
        return message

    assert hinted_str.op(_message_for(hinted_str, message="string")) == "string"
    assert plain.op(_message_for(plain, message="string")) == "string"
    assert not hinted_str.passes_message


def test_do_retry_default_counts_retries() -> None:
    @task(..., max_retries=2)
    def job() -> None:
        return None

    message = _message_for(job)
    assert job.do_retry(message, RuntimeError())
    message.retries = 2
    assert not job.do_retry(message, RuntimeError())


def test_generate_many_submits_every_message_in_order(broker: Broker) -> None:
    @task(broker, queue="q", priority=1)
    def add(a: int, b: int) -> int:
        return a + b

    messages = add.generate_many([{"args": (1, 2)}, {"args": (3, 4), "priority": 0}, {}])
    assert [m.args for m in messages] == [(1, 2), (3, 4), ()]
    assert [m.priority for m in messages] == [1, 0, 1]
    assert all(broker.exists(m) for m in messages)
    claimed = broker.backend.claim(["q"], limit=10, lease_ms=1_000).messages
    assert [m.uuid for m in claimed] == [messages[1].uuid, messages[0].uuid, messages[2].uuid]


def test_generate_many_rejects_unknown_fields_before_submitting(broker: Broker) -> None:
    @task(broker, queue="q")
    def noop() -> None:
        return None

    with pytest.raises(ValidationError, match="argz"):
        noop.generate_many([{}, {"argz": (1,)}])
    assert broker.backend.depth("q") == 0


def test_generate_many_reports_uuids_already_stored(broker: Broker) -> None:
    @task(broker, queue="q")
    def noop() -> None:
        return None

    first = noop.generate()
    with pytest.raises(MessageAlreadyExistsError, match=first.uuid):
        noop.generate_many([{"uuid": first.uuid}, {"uuid": "fresh"}])
    assert broker.backend.depth("q") == 2
