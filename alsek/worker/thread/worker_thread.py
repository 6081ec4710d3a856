"""One worker thread of a thread group."""

from __future__ import annotations

import threading
from collections.abc import Callable

from alsek.worker.thread.interrupt import ThreadInterrupter


class WorkerThread:
    """One worker thread: its interrupter, and whether it was retired (abandoned while stuck).

    Args:
        serve: the thread's loop, given this object.
        number: the thread's number in its group (for its name).
    """

    def __init__(self, serve: Callable[[WorkerThread], None], number: int) -> None:
        self.retired = False
        self.interrupter: ThreadInterrupter | None = None
        self.thread = threading.Thread(
            target=serve, args=(self,), name=f"alsek-worker-{number}", daemon=True
        )
