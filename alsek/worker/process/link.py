"""The supervisor's side of the zygote: starting it, sending it runs and kills, and routing its
replies to the threads that wait for them.

One :class:`ZygoteLink` per process pool. Dispatcher threads call :meth:`ZygoteLink.run` (it
blocks until that run is done or its process died); the watchdog calls :meth:`ZygoteLink.kill`;
a reader thread receives every reply. If the zygote dies, every run waiting on it is answered
as lost, and :meth:`ZygoteLink.ensure_running` (called on each watchdog tick) starts a new one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import Any

from attrs import frozen

from alsek.domain.model.message import Message
from alsek.worker.lifecycle import Restarts, StopSignal
from alsek.worker.process.zygote import run_zygote
from alsek.worker.spec import WorkerSpec

log = logging.getLogger("alsek.worker")

#: How long (s) a starting zygote may take to import the tasks before it is replaced.
READY_TIMEOUT_S = 60.0


@frozen
class Reply:
    """How a run ended, as the zygote reported it.

    Attributes:
        payload: the encoded settlement the task process sent (None if it sent none).
        exit_code: the task process's exit code when it died without reporting (negative: the
            signal that killed it; None: unknown).
        lost: the zygote died (or the pool stopped) before the run's end was known.
    """

    payload: bytes | None = None
    exit_code: int | None = None
    lost: bool = False


class ZygoteLink:
    """Starts the zygote and talks to it.

    Args:
        context: the multiprocessing context the zygote starts with.
        spec: what the zygote is told (tasks, ``max_tasks_per_child``).
        stop: once set, :meth:`run` stops waiting for a zygote to come up.
    """

    def __init__(self, context: Any, spec: WorkerSpec, stop: StopSignal) -> None:
        self.context = context
        self.spec = spec
        self.stop = stop
        self.process: Any = None
        self.restarts = Restarts()
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._channel: Any = None
        self._generation = 0
        self._ready = False
        self._closed = False
        self._started_at = 0.0
        self._replies: dict[int, tuple[int, int, Reply]] = {}  # slot -> generation, run, reply

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start a zygote (a reader thread follows it)."""
        ours, theirs = self.context.Pipe()
        process = self.context.Process(
            target=run_zygote, args=(self.spec, theirs, os.getpid()), name="alsek-zygote",
            daemon=True,
        )  # fmt: skip
        process.start()
        theirs.close()
        with self._cond:
            self.process, self._channel, self._ready = process, ours, False
            self._started_at = time.monotonic()
            generation = self._generation
        threading.Thread(
            target=self._read, args=(ours, generation), name="alsek-zygote-reader", daemon=True
        ).start()

    @property
    def ready(self) -> bool:
        """Whether a zygote is up and has its tasks (runs are taken at once)."""
        return self._ready

    @property
    def alive(self) -> bool:
        """Whether a zygote runs (or is starting)."""
        return self.process is not None and self.process.is_alive()

    def ensure_running(self) -> None:
        """Start a new zygote if the last one died (after a growing pause if it keeps dying),
        or replace one that takes too long to become ready."""
        if self.stop.is_set() or self._closed:
            return
        if self.alive and not self._ready:
            if time.monotonic() - self._started_at > READY_TIMEOUT_S:
                log.error("The zygote did not become ready in %s s; replacing it.", READY_TIMEOUT_S)
                self.process.kill()
            return
        if self.alive:
            return
        if self.process is not None:
            self.process.join(0)
            log.error("The zygote (pid %s) died with exit code %s.",
                      self.process.pid, self.process.exitcode)  # fmt: skip
            self.restarts.died(lived_s=time.monotonic() - self._started_at)
            self.process = None
        if self.restarts.due():
            self.start()

    def close(self, timeout_s: float = 5.0) -> None:
        """Ask the zygote to stop (it kills the task processes left) and wait for it."""
        with self._send_lock, contextlib.suppress(OSError, AttributeError):
            self._channel.send(("stop",))
        if self.process is not None:
            self.process.join(timeout_s)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout_s)
        with self._cond:
            self._generation += 1
            self._ready, self._closed = False, True
            self._cond.notify_all()

    # -- runs ------------------------------------------------------------------------------------

    def run(self, slot: int, run: int, message: Message) -> Reply:
        """Run ``message`` in a task process of ``slot`` and wait until it ends.

        Returns:
            Its reply; ``lost`` if the zygote died meanwhile or the pool stopped before a zygote
            was ready to take it.
        """
        with self._cond:
            while not self._ready:
                if self.stop.is_set() or self._closed:
                    return Reply(lost=True)
                self._cond.wait(0.1)
            generation = self._generation
        try:
            with self._send_lock:
                self._channel.send(("run", slot, run, message))
        except (OSError, ValueError):
            return Reply(lost=True)
        with self._cond:
            while True:
                got = self._replies.get(slot)
                if got is not None and got[:2] == (generation, run):
                    del self._replies[slot]
                    return got[2]
                if self._generation != generation:
                    return Reply(lost=True)
                self._cond.wait()

    def kill(self, slot: int, run: int) -> None:
        """Kill the task process running ``run`` in ``slot`` (nothing if that run is over)."""
        with self._send_lock, contextlib.suppress(OSError, ValueError, AttributeError):
            self._channel.send(("kill", slot, run))

    def _read(self, channel: Any, generation: int) -> None:
        try:
            while True:
                reply = channel.recv()
                with self._cond:
                    self._take(reply, generation)
                    self._cond.notify_all()
        except (EOFError, OSError):
            pass
        with self._cond:
            if self._generation == generation:
                self._generation += 1
                self._ready = False
            self._cond.notify_all()

    def _take(self, reply: tuple[Any, ...], generation: int) -> None:
        kind = reply[0]
        if kind == "ready":
            self._ready = True
        elif kind == "done":
            self._replies[reply[1]] = (generation, reply[2], Reply(payload=reply[3]))
        elif kind == "died":
            self._replies[reply[1]] = (generation, reply[2], Reply(exit_code=reply[3]))
