"""What a task process of the process pool does: run messages and report how they ended.

A task process is forked by the zygote (:mod:`alsek.worker.process.zygote`) ahead of need, and
waits for its first message on its pipe. It runs it (:func:`run_message`: the one seam where a message becomes
an :class:`Outcome`), decides the settlement where the task ran (``do_retry``, ``do_callback``
and the ``on_*`` hooks are the task's own code: they run in its process, not in the pool's),
sends the settlement back and exits, unless it may serve more messages
(``--max_tasks_per_child``): then it waits for the next one on its pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from alsek.domain.model.errors import SerializationError
from alsek.domain.model.message import Message
from alsek.domain.model.outcome import Outcome
from alsek.domain.services.processing import (
    Settlement,
    announce,
    arun_task,
    run_task,
    settle_safely,
)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.worker")


def run_message(task: Task, message: Message) -> Outcome:
    """Run ``message`` on ``task`` in this process and return how it went.

    The seam of the process pool: everything else in a task process is transport. An ``async
    def`` task runs on an event loop of its own (``asyncio.run``).
    """
    if task.is_async:
        return asyncio.run(arun_task(task, message))
    return run_task(task, message)


def conclude(task: Task, message: Message, outcome: Outcome, tasks: Mapping[str, Task]) -> bytes:
    """Decide how ``message`` ends after ``outcome``, call the task's ``on_*`` hook, and encode
    the settlement for the pool (a settlement that cannot be pickled, e.g. a result the pool
    could not store anyway, becomes the failure of the run)."""
    settlement = settle_safely(task, message, outcome, tasks)
    announce(task, settlement, outcome)
    try:
        return pickle.dumps(settlement, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        failure = Outcome.failure(SerializationError(f"the outcome cannot be sent: {error}"))
        return pickle.dumps(settle_safely(task, message, failure, tasks))


def decode_settlement(payload: bytes) -> Settlement:
    """The settlement a task process sent."""
    settlement = pickle.loads(payload)  # noqa: S301 - our own child, over our own pipe
    if not isinstance(settlement, Settlement):
        raise TypeError(f"a task process sent {type(settlement).__name__}, not a settlement")
    return settlement


def serve(tasks: Mapping[str, Task], pipe: Connection, budget: int) -> NoReturn:
    """The life of a task process: wait for a message on ``pipe``, run it, report, and go on
    until ``budget`` runs are done (0: no limit) or the pipe closes; then exit without running
    the parent's exit handlers."""
    code = 0
    try:
        while True:
            try:
                run, message = _next(pipe)
            except EOFError:
                break
            task = tasks[message.task_name]
            payload = conclude(task, message, run_message(task, message), tasks)
            pipe.send((run, payload))
            budget -= 1
            if budget == 0:
                break
    except BaseException:  # reported as a crash by the pool: it knows the run
        log.exception("A task process failed outside its task.")
        code = 70
    _exit(code)


def _next(pipe: Connection) -> tuple[int, Message]:
    request: Any = pipe.recv()
    return request[0], request[1]


def _exit(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken stream: nothing more to say
            stream.flush()
    os._exit(code)
