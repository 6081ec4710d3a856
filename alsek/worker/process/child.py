"""The body of a process pool's child: runs one message at a time in its main thread, fed by a
:class:`~alsek.worker.feeder.Feeder` thread that acknowledges in batches and claims ahead
(``prefetch``; given back when a task runs long).

The child reports each message it runs (and its deadline) in its shared-memory slot; the
supervisor renews the leases, kills the child when its task times out, crashes or is revoked,
settles that message and starts a fresh child. So a task that times out or crashes cannot harm
the next one, while healthy children stay warm: no process start per task.
"""

from __future__ import annotations

import logging
import os

from alsek.domain.services.processing import Settlement
from alsek.worker.feeder import Feeder
from alsek.worker.pool import start_child
from alsek.worker.process.slots import SlotState, SlotTable
from alsek.worker.spec import WorkerSpec

log = logging.getLogger("alsek.worker")

#: How long (s) a stopping child waits for its feeder to send its last acknowledgements.
CLOSE_TIMEOUT_S = 5.0


def run_child(spec: WorkerSpec, index: int, slots: SlotTable, parent_pid: int) -> None:
    """Claim and run messages until SIGTERM; a running task is finished first.

    Args:
        spec: the tasks, queues and timings.
        index: this child's slot.
        slots: where the child reports what it runs.
        parent_pid: the supervisor, which this process must not outlive.
    """
    stop, processor = start_child(spec, parent_pid)
    clock = processor.consumer.backend.clock
    feeder = Feeder(processor, executors=1, stop=stop, prefetch=spec.prefetch)
    feeder.start()
    log.debug("Process child %s (pid %s) started.", index, os.getpid())
    settlement: Settlement | None = None
    while True:
        slots.write(index, SlotState.IDLE)
        message = feeder.next(settlement)
        if message is None:
            break
        slots.write(index, SlotState.RUNNING, message, clock.now_ms() + message.timeout)
        settlement = processor.process(message)
        slots.write(index, SlotState.SETTLING, message)
    slots.write(index, SlotState.IDLE)
    feeder.close(timeout_s=CLOSE_TIMEOUT_S)
