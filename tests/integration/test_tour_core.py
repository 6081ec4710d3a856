"""The guided tour up to "Consumers" (core sections), run as written on a real redis-server."""

from __future__ import annotations

import pytest

from tests.integration.tour import redirect_localhost, run

BACKENDS = """
from alsek.storage.backends.redis import RedisBackend

# Note: by default, `RedisBackend()` will attempt to
# connect to an instance of Redis running on localhost.
backend = RedisBackend()
"""

LAZY = """
from redis import Redis
from alsek.storage.backends import LazyClient
from alsek.storage.backends.redis import RedisBackend

# Initialize the backend with LazyClient
lazy_backend = RedisBackend(LazyClient(lambda: Redis()))

# Run an operation.
# This will cause LazyClient to evaluate the
# lambda and return a usable client connection.
lazy_backend.count("queues:math_ops")
"""

MESSAGES = """
from alsek import Broker, task
from alsek.storage.backends.redis.standard import RedisBackend

broker = Broker(RedisBackend())

@task(broker)
def simple_task() -> int:
    return 99

message = simple_task.generate()
"""

MESSAGE_PROPERTIES = """
from alsek import Message

message.data
message.summary
message.ready_at
message.ttr
message.descendant_uuids
message.ready
"""


@pytest.fixture(autouse=True)
def _localhost_is_the_test_server(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    redirect_localhost(monkeypatch, redis_url)


def test_backends() -> None:
    scope = run(BACKENDS)
    assert scope["backend"].count("queues") == 0


def test_lazy_initialization_defers_the_connection() -> None:
    scope = run(LAZY)
    assert scope["lazy_backend"].count("queues:math_ops") == 0


def test_messages_and_their_properties() -> None:
    scope = run(MESSAGES)
    run(MESSAGE_PROPERTIES, scope)
    message = scope["message"]
    assert scope["broker"].exists(message)
    assert message.data["task_name"] == "simple_task"
    assert message.summary == (
        f"Message(uuid='{message.uuid}', queue='alsek_queue', task='simple_task')"
    )
    assert message.ready_at == message.created_at
    assert (message.ttr, message.ready, message.descendant_uuids) == (0, True, None)
    assert repr(message).startswith(
        "Message(\n    task_name='simple_task',\n    queue='alsek_queue',"
    )
    assert (
        "backoff_settings={'algorithm': 'ExponentialBackoff', 'parameters': {'base': 4, "
        "'factor': 10000, 'floor': 60000, 'ceiling': 3600000, 'zero_override': True}}"
        in repr(message)
    )


def test_broker_methods() -> None:
    scope = run(MESSAGES)
    broker, message = scope["broker"], scope["message"]
    assert broker.exists(message)
    broker.retry(message)
    assert message.retries == 1 and broker.exists(message)
    broker.fail(message)
    assert not broker.exists(message) and broker.in_dlq(message)
    fresh = scope["simple_task"].generate()
    broker.ack(fresh)
    assert not broker.exists(fresh)
    other = scope["simple_task"].generate()
    broker.remove(other)
    assert not broker.exists(other)


TASKS_NOTE = """
from alsek import task

@task(...)
def add(a: int, b: int) -> int:
    return a + b

assert add(1, b=1) == 2  # True
"""

MECHANISMS = """
from alsek import task

@task(..., mechanism="thread")
def my_task() -> int:
    return 99
"""

TIMEOUTS = """
from alsek import task

@task(..., timeout=90 * 1000)  # lower timeout to 90 seconds
def my_task() -> int:
    return 99
"""

PRIORITY = """
from alsek import task

@task(..., queue="my_queue")
def task_a() -> str:
    return "A!"

message_1 = task_a.generate(priority=1)
message_2 = task_a.generate(priority=0)
"""


def test_tasks_keep_their_function() -> None:
    run(TASKS_NOTE)


def test_mechanisms_and_timeouts() -> None:
    assert run(MECHANISMS)["my_task"].mechanism == "thread"
    assert run(TIMEOUTS)["my_task"].timeout == 90_000


def test_priority_lower_integers_first() -> None:
    scope = run(PRIORITY)
    backend = scope["task_a"].broker.backend
    claim = backend.claim(["my_queue"], limit=2, lease_ms=5_000)
    assert [m.uuid for m in claim.messages] == [scope["message_2"].uuid, scope["message_1"].uuid]


MESSAGE_PASSING = """
from alsek import Broker, Message, task
from alsek.storage.backends.redis.standard import RedisBackend

broker = Broker(RedisBackend())

@task(broker)
def my_task(message: Message) -> None:  # note: type hints are optional
    print(message.uuid)
"""


def test_message_passing(capsys: pytest.CaptureFixture[str]) -> None:
    scope = run(MESSAGE_PASSING)
    message = scope["my_task"].generate()
    scope["my_task"].op(message)
    assert capsys.readouterr().out.strip() == message.uuid


CALLBACKS = """
from alsek import Broker, Message, task
from alsek.storage.backends.redis.standard import RedisBackend

broker = Broker(RedisBackend())

@task(broker)
def add_1(number: int) -> int:
    return number + 1

@task(broker)
def print_result(message: Message) -> None:
    print(message.previous_result)
"""

CALLBACK_SUBMIT_FALSE = """
add_1.generate(
    args=(1,),
    callback=print_result.generate(submit=False)
)
"""

CALLBACK_DEFERRED = """
add_1.generate(
    args=(1,),
    callback=print_result.defer().generate()
)
"""

NESTED = """
@task(broker)
def add_1_previous(message: Message) -> int:
    return message.previous_result + 1
nested = add_1.generate(
    args=(1,),
    callback=(
        add_1_previous.defer().generate(
            callback=add_1_previous.defer().generate(
                callback=add_1_previous.defer().generate(
                    callback=print_result.defer().generate()
                )
            ),
        )
    ),
)
flat = add_1.generate(
    args=(1,),
    callback=(
        add_1_previous.defer().generate(),
        add_1_previous.defer().generate(),
        add_1_previous.defer().generate(),
        print_result.defer().generate()
    ),
)
"""


def _chain_tasks(data: dict | None) -> list[str]:
    names = []
    while data:
        names.append(data["task_name"])
        data = data["callback_message_data"]
    return names


def test_callbacks_are_carried_not_submitted() -> None:
    scope = run(CALLBACKS)
    broker = scope["broker"]
    for snippet in (CALLBACK_SUBMIT_FALSE, CALLBACK_DEFERRED):
        before = broker.backend.count("queues")
        run(snippet, scope)
        assert broker.backend.count("queues") == before + 1  # only add_1's message
    assert not scope["print_result"].deferred


def test_nested_and_flat_callbacks_are_the_same_chain() -> None:
    scope = run(CALLBACKS)
    run(NESTED, scope)
    expected = ["add_1_previous"] * 3 + ["print_result"]
    assert _chain_tasks(scope["nested"].callback_message_data) == expected
    assert _chain_tasks(scope["flat"].callback_message_data) == expected
    assert len(scope["flat"].descendant_uuids) == 4


CONTROL = """
from typing import Any

from alsek import Message
from alsek.core.task import Task, task

class CustomTask1(Task):
    def do_callback(self, message: Message, result: Any) -> bool:
        if result > 1:
            return True
        else:
            return False

@task(..., base_task=CustomTask1)
def simple_task() -> int:
    return 99
"""

PRE_POST = """
from alsek import Message
from alsek.core.task import Task, task

class CustomTask2(Task):
    def pre_op(self, message: Message) -> None:
        print(f"About to process {message.summary}!")

    def post_op(self, message: Message, result: Any) -> None:
        print(f"Processed {message.summary} and got '{result}'!")


@task(..., base_task=CustomTask2)
def simple_task() -> int:
    return 99
"""

RETRIES = """
from alsek import Message
from alsek.core.task import Task, task

class CustomTask3(Task):
    def do_retry(self, message: Message, exception: BaseException) -> bool:
        if isinstance(exception, ZeroDivisionError):
            return False
        elif self.max_retries is None:
            return True
        else:
            return message.retries < self.max_retries

@task(..., base_task=CustomTask3)
def simple_task() -> int:
    return 99
"""

BACKOFF = """
from alsek import task
from alsek.core.backoff import (
    ConstantBackoff,
    ExponentialBackoff,
    LinearBackoff,
)

@task(..., backoff=ConstantBackoff(constant=30 * 1000))
def task_a() -> int:
    return 99

@task(..., backoff=LinearBackoff(factor=30 * 1000))
def task_b() -> int:
    return 99

@task(..., backoff=ExponentialBackoff(ceiling=90 * 1000))
def task_c() -> int:
    return 99
"""


def test_hooks_of_base_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    control = run(CONTROL)["simple_task"]
    assert control.do_callback(None, 2) and not control.do_callback(None, 1)
    scope = run(PRE_POST, {"__name__": "tour", "Any": object})
    message = scope["simple_task"].generate(submit=False)
    scope["simple_task"].pre_op(message)
    scope["simple_task"].post_op(message, 99)
    out = capsys.readouterr().out
    assert f"About to process {message.summary}!" in out and "got '99'!" in out
    retrying = run(RETRIES)["simple_task"]
    assert not retrying.do_retry(message, ZeroDivisionError())
    assert retrying.do_retry(message, ValueError())


def test_backoff_policies() -> None:
    scope = run(BACKOFF)
    # Every policy has the tour's shared floor of 60,000 ms (as Alsek 1.3.2).
    assert scope["task_a"].backoff.get(3) == 60_000
    assert scope["task_b"].backoff.get(1) == 60_000
    assert scope["task_b"].backoff.get(3) == 90_000
    assert scope["task_c"].backoff.get(10) == 90_000
    message = scope["task_c"].generate()
    assert message.backoff_settings["parameters"]["ceiling"] == 90_000
