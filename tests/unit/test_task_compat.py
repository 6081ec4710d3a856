"""Task behaviour promised by the tour and by Alsek 1.3.2: nested deferral, positional options,
``no_positional_args``, ``execute``, ``post_op`` after failures and the ``on_*`` hooks."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.core.backoff import ConstantBackoff
from alsek.core.task import Task
from alsek.domain.model.errors import RevokedError, ValidationError
from alsek.domain.model.outcome import Outcome
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.processing import announce, settle


@pytest.fixture
def broker() -> Broker:
    return Broker(InMemoryBackend())


def _chain(data: dict[str, Any] | None) -> list[str]:
    names = []
    while data:
        names.append(data["task_name"])
        data = data["callback_message_data"]
    return names


def test_the_tours_nested_deferral_submits_only_the_outer_message(broker: Broker) -> None:
    @task(broker)
    def add_1(number: int) -> int:
        return number + 1

    @task(broker)
    def add_1_previous(message: Message) -> int:
        return message.previous_result + 1

    @task(broker)
    def print_result(message: Message) -> None:
        print(message.previous_result)

    root = add_1.generate(
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
    assert broker.backend.count("queues") == 1 and broker.exists(root)
    assert _chain(root.callback_message_data) == ["add_1_previous"] * 3 + ["print_result"]
    assert not add_1_previous.deferred and not print_result.deferred


def test_each_generate_consumes_one_defer(broker: Broker) -> None:
    @task(broker)
    def job() -> None:
        return None

    job.defer().defer()
    assert job.deferred
    first, second = job.generate(), job.generate()
    assert not job.deferred and not broker.exists(first) and not broker.exists(second)
    assert broker.exists(job.generate())
    job.defer().cancel_defer()
    assert broker.exists(job.generate())


def test_deferral_is_per_thread(broker: Broker) -> None:
    @task(broker)
    def job() -> None:
        return None

    job.defer()
    elsewhere: list[Message] = []
    thread = threading.Thread(target=lambda: elsewhere.append(job.generate()))
    thread.start()
    thread.join(30)
    assert broker.exists(elsewhere[0])  # another thread's generate() was not deferred
    assert not broker.exists(job.generate())


def test_a_failed_generate_still_consumes_its_defer(broker: Broker) -> None:
    @task(broker)
    def job() -> None:
        return None

    with pytest.raises(ValidationError):
        job.defer().generate(timeout_override=0)
    assert not job.deferred


def test_task_options_are_positional_in_alsek_1_3_2_order(broker: Broker) -> None:
    backoff = ConstantBackoff(5)
    made = Task(len, broker, "named", "q", 1_000, 7, backoff, None, None, "thread", True)
    assert (made.name, made.queue, made.timeout, made.max_retries) == ("named", "q", 1_000, 7)
    assert (made.backoff, made.mechanism, made.no_positional_args) == (backoff, "thread", True)


def test_no_positional_args_refuses_args(broker: Broker) -> None:
    @task(broker, no_positional_args=True)
    def greet(name: str = "x") -> str:
        return name

    with pytest.raises(ValidationError, match="positional"):
        greet.generate(args=("a",))
    assert greet.generate(kwargs={"name": "a"}).kwargs == {"name": "a"}


class Recording(Task):
    events: list[tuple[str, Any]] = []

    def on_submit(self, message: Message) -> None:
        self.events.append(("submit", message.uuid))

    def execute(self, message: Message) -> Any:
        self.events.append(("execute", message.uuid))
        return super().execute(message)

    def post_op(self, message: Message, result: Any) -> None:
        details = message.exception_details
        self.events.append(("post_op", (result, details and details["name"])))

    def on_success(self, message: Message, result: Any) -> None:
        self.events.append(("success", result))

    def on_retry(self, message: Message, exception: BaseException) -> None:
        self.events.append(("retry", type(exception).__name__))

    def on_failure(self, message: Message, exception: BaseException) -> None:
        self.events.append(("failure", type(exception).__name__))

    def on_revocation(self, message: Message, exception: Any, result: Any) -> None:
        self.events.append(("revocation", type(exception).__name__))


def _process(broker: Broker) -> None:
    processor = MessageProcessor(Consumer(broker), broker.tasks)
    [message] = processor.consumer.claim(1)
    processor.finish(processor.process(message))


def test_hooks_follow_alsek_1_3_2(broker: Broker) -> None:
    Recording.events = []
    attempts = iter([ValueError("once"), None])

    @task(broker, base_task=Recording, max_retries=1, backoff=None)
    def flaky() -> int:
        error = next(attempts)
        if error is not None:
            raise error
        return 5

    message = flaky.generate()
    _process(broker)  # fails: post_op sees the failure, then on_retry
    _process(broker)  # succeeds
    assert Recording.events == [
        ("submit", message.uuid),
        ("execute", message.uuid),
        ("post_op", (None, "ValueError")),
        ("retry", "ValueError"),
        ("execute", message.uuid),
        ("post_op", (5, None)),
        ("success", 5),
    ]


def test_failure_and_revocation_hooks(broker: Broker) -> None:
    Recording.events = []

    @task(broker, base_task=Recording, max_retries=0)
    def broken() -> None:
        raise KeyError("no")

    broken.generate()
    _process(broker)
    assert Recording.events[-1] == ("failure", "KeyError")
    message = broken.generate(submit=False)
    outcome = Outcome.failure(RevokedError("revoked"))
    announce(broken, settle(broken, message, outcome), outcome)
    assert Recording.events[-1] == ("revocation", "RevokedError")


def test_a_raising_hook_changes_nothing(broker: Broker) -> None:
    class Grumpy(Task):
        def on_success(self, message: Message, result: Any) -> None:
            raise RuntimeError("hook")

        def on_submit(self, message: Message) -> None:
            raise RuntimeError("hook")

    @task(broker, base_task=Grumpy)
    def fine() -> int:
        return 1

    message = fine.generate()
    assert broker.exists(message)
    _process(broker)
    assert not broker.exists(message) and not broker.in_dlq(message)
