"""The body of a warm child of the process pool in reuse mode (``max_tasks_per_child=0``): it
runs one message at a time in its main thread, fed by its own
:class:`~alsek.worker.feeder.Feeder` thread that claims for it (only the pool's tasks when the
pool claims by task) and acknowledges in batches, ahead by ``prefetch`` (given back when a task
runs long).

The child reports each message it runs (and its deadline) in its shared-memory slot; the
supervisor renews the leases, kills the child when its task times out or is revoked, settles
that message and starts a fresh child. So a task that times out or crashes cannot harm the next
one, while healthy children stay warm: no process start and no round trip to the supervisor per
task.
"""

from __future__ import annotations

import logging
import os

from alsek.domain.model.message import Message
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.processing import Settlement, announce, settle_safely
from alsek.ports.clock import Clock
from alsek.worker.affinity_governor import AffinityGovernor
from alsek.worker.feeder import Feeder
from alsek.worker.pool import start_child
from alsek.worker.process.runner import run_message
from alsek.worker.process.slots import SlotState, SlotTable
from alsek.worker.spec import WorkerSpec

log = logging.getLogger("alsek.worker")

#: How long (s) a stopping child waits for its feeder to send its last acknowledgements.
CLOSE_TIMEOUT_S = 5.0


def run_warm_child(spec: WorkerSpec, index: int, slots: SlotTable, parent_pid: int) -> None:
    """Claim and run messages until SIGTERM; a running task is finished first.

    Args:
        spec: the tasks, queues and timings.
        index: this child's slot.
        slots: where the child reports what it runs.
        parent_pid: the supervisor, which this process must not outlive.
    """
    stop, processor = start_child(spec, index, parent_pid)
    clock = processor.consumer.backend.clock
    feeder = Feeder(processor, executors=1, stop=stop, prefetch=spec.prefetch)
    governor = AffinityGovernor.for_group(feeder, spec.governed_as(index))
    feeder.start()
    if governor is not None:
        governor.start()
    log.debug("Process child %s (pid %s) started.", index, os.getpid())
    try:
        _serve(processor, feeder, slots, index, clock)
    finally:
        if governor is not None:
            governor.stop()


def _serve(
    processor: MessageProcessor, feeder: Feeder, slots: SlotTable, index: int, clock: Clock
) -> None:
    settlement: Settlement | None = None
    while True:
        slots.write(index, SlotState.IDLE)
        message = feeder.next(settlement)
        if message is None:
            break
        slots.write(index, SlotState.RUNNING, message, clock.now_ms() + message.timeout)
        settlement = process(processor, message)
        slots.write(index, SlotState.SETTLING, message)
    slots.write(index, SlotState.IDLE)
    feeder.close(timeout_s=CLOSE_TIMEOUT_S)


def process(processor: MessageProcessor, message: Message) -> Settlement:
    """Run ``message`` here through the process pool's seam (:func:`run_message`, as a fresh task
    process does) and decide how it ends; the task's hooks run in this process."""
    task = processor.task_for(message)
    if task is None:
        return processor.unknown_task(message)
    processor.begin(task, message)
    outcome = run_message(task, message)
    settlement = settle_safely(task, message, outcome, processor.tasks)
    announce(task, settlement, outcome)
    return settlement
