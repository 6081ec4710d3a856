"""Issue 15 with real worker pools on a real redis-server: a damaged queue at start-up or while
running (15.3), stray bodies repaired at start (15.2), poison messages (15.4), unknown tasks
during a rolling deploy (15.7), abandoned threads (15.9)."""

from __future__ import annotations

from alsek.adapters.redis.keys import KeyLayout
from alsek.domain.model.naming import dlq_name, message_name
from tests.integration.test_worker_harness import (  # noqa: F401
    Harness,
    assert_exactly_once,
    harness_fixture,
    submit_counts,
    wait_until,
)

#: The tasks module of a worker deployed before ``sleepy`` existed (same broker, same queue).
OLD_TASKS = """
import os
from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend

broker = Broker(RedisBackend(os.environ["ALSEK_TEST_REDIS_URL"],
                             namespace=os.environ["ALSEK_TEST_NAMESPACE"]))


@task(broker, queue="rel", mechanism="thread")
def count(i: int) -> None:
    raise RuntimeError("the old version of count is never run in this test")
"""


def test_a_damaged_queue_at_start_up_is_a_clean_exit_naming_the_key(harness: Harness) -> None:
    leased = KeyLayout(harness.namespace).queue("rel").leased
    harness.client.set(leased, "not a sorted set")
    worker = harness.start("thread", "--n_processes", "1")
    assert worker.process.wait(60) == 4
    log = worker.log.read_text(errors="replace")
    assert "Cannot start on this backend" in log and leased in log
    assert "Traceback" not in log


def test_a_queue_damaged_while_running_is_skipped_and_the_others_served(
    harness: Harness,
) -> None:
    worker = harness.start("thread", "--n_processes", "1", "-qu", "other,rel")
    submit_counts(harness, 5)
    wait_until(lambda: len(harness.counts()) == 5, 30, "the first runs", worker)
    ready = KeyLayout(harness.namespace).queue("other").ready
    harness.client.set(ready, "not a sorted set")  # the preferred queue: claimed first
    for i in range(5, 40):
        harness.tasks.count.generate(args=(i,))
    wait_until(lambda: len(harness.counts()) == 40, 30, "the runs on the healthy queue", worker)
    log = worker.log.read_text(errors="replace")
    assert log.count("Skipping queue 'other'") == 1, "one error, not one per claim"
    assert "Backend unavailable" not in log
    harness.client.delete(ready)
    wait_until(
        lambda: "Queue 'other' is served again" in worker.log.read_text(errors="replace"),
        30, "the recovery to be noticed", worker,
    )  # fmt: skip
    assert worker.stop() == 0, worker.tail()
    assert_exactly_once(harness, 40)


def test_a_stored_body_that_no_index_holds_runs_after_a_worker_starts(harness: Harness) -> None:
    stray = harness.tasks.count.defer().generate(args=(0,))
    body = harness.tasks.backend.serializer.forward(stray.data)
    harness.client.set(KeyLayout(harness.namespace).body(stray), body)  # indexed nowhere
    worker = harness.start("process", "--n_processes", "1")
    wait_until(lambda: harness.counts() == {0: 1}, 30, "the stray message to run", worker)
    assert "Indexed again 1 stored message" in worker.log.read_text(errors="replace")
    assert worker.stop() == 0, worker.tail()
    assert_exactly_once(harness, 1)


def test_a_poison_message_ends_in_the_dead_letter_queue_instead_of_looping(
    harness: Harness,
) -> None:
    poison = harness.tasks.count.generate(args=(0,))
    # A callback that cannot become a message: settling the success raises. Before, the run
    # ended without a settlement and the message ran again every lease, forever.
    data = {**poison.data, "callback_message_data": {"task_name": "count", "uuid": "bad|id"}}
    raw = harness.tasks.backend.serializer.forward(data)
    harness.client.set(KeyLayout(harness.namespace).body(poison), raw)
    bad_backoff = harness.tasks.count.generate(args=(1,))
    data = {**bad_backoff.data, "backoff_settings": {"algorithm": "nope", "parameters": {}}}
    raw = harness.tasks.backend.serializer.forward(data)
    harness.client.set(KeyLayout(harness.namespace).body(bad_backoff), raw)
    worker = harness.start("thread", "--n_processes", "1", "--lease_ms", "500")
    broker = harness.tasks.broker
    wait_until(
        lambda: broker.in_dlq(poison) and broker.backend.exists("dtq:" + message_name(bad_backoff)),
        30, "both in the dead letter queue", worker,
    )  # fmt: skip
    wait_until(lambda: harness.leftover() == 0, 30, "the queue to empty", worker)
    assert worker.stop() == 0, worker.tail()
    assert harness.counts() == {0: 1}, "the poison ran once; the bad body never ran"


def test_an_unknown_task_waits_for_the_worker_that_knows_it(harness: Harness) -> None:
    (harness.directory / "rel_tasks_old.py").write_text(OLD_TASKS)
    old = harness.start("thread", "--n_processes", "1", module="rel_tasks_old")
    message = harness.tasks.sleepy.generate(args=(3, 0.0))
    wait_until(
        lambda: "Unknown task 'sleepy'" in old.log.read_text(errors="replace"),
        30, "the old worker to meet it", old,
    )  # fmt: skip
    new = harness.start("thread", "--n_processes", "1")  # the rolling deploy reaches it
    # While both run, either may take the message when it falls due (a fair race); the deploy
    # then stops the old worker, and the message must still be there for the new one.
    assert old.stop() == 0, old.tail()
    wait_until(lambda: harness.counts() == {3: 1}, 90, "the new worker to run it", new)
    assert not harness.tasks.broker.in_dlq(message)
    assert not harness.client.exists(f"{harness.namespace}:{dlq_name(message)}")
    assert "failing it" not in old.log.read_text(errors="replace")
    assert new.stop() == 0, new.tail()


def test_abandoned_threads_are_capped_and_the_group_recycled(harness: Harness) -> None:
    worker = harness.start("thread", "--n_processes", "1", "--n_threads", "1", "--prefetch", "0")
    for i in range(2):  # each abandons a thread: one more than the group's one thread
        harness.tasks.stuck.generate(args=(100 + i,))
    wait_until(
        lambda: "stopped to be replaced" in worker.log.read_text(errors="replace"),
        60, "the group to be recycled", worker,
    )  # fmt: skip
    submit_counts(harness, 10)
    wait_until(lambda: len(harness.counts()) == 10, 60, "runs in the fresh group", worker)
    wait_until(lambda: harness.leftover() == 0, 30, "the stuck ones failed (no retries)", worker)
    log = worker.log.read_text(errors="replace")
    assert "recycling the process" in log
    assert worker.stop() == 0, worker.tail()
