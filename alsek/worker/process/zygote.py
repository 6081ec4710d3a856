"""The zygote: a warm, single-threaded process that forks one task process per message.

The process pool's supervisor starts the zygote once. The zygote imports (or, forked, already
holds) the tasks, then does nothing but fork: each message the supervisor sends it runs in a
fresh child forked from this warm state, so a task costs a fork, not an import, and no global,
leak or crash of one task reaches the next. With ``max_tasks_per_child`` above 1 a child serves
up to that many messages of its slot before a fresh one is forked.

The zygote never opens a connection (the supervisor claims and acknowledges; a task that uses
Redis connects from its own process) and never starts a thread, so forking it is safe. It talks
to the supervisor over one pipe: ``("run", slot, run, message)`` and ``("kill", slot, run)``
come in; ``("done", slot, run, settlement bytes)`` and ``("died", slot, run, exit code)`` go
out. It reaps every child it forks, kills them all when the supervisor's pipe closes, and dies
with the supervisor.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import time
from multiprocessing.connection import Connection, Pipe, wait
from typing import TYPE_CHECKING, Any

from attrs import define

from alsek.worker.lifecycle import die_with_parent, libc
from alsek.worker.process import runner
from alsek.worker.spec import WorkerSpec

if TYPE_CHECKING:
    from alsek.domain.model.message import Message
    from alsek.domain.services.task import Task

log = logging.getLogger("alsek.worker")

_REAP_S = 0.05


@define(eq=False)
class _Child:
    """A task process: its pid, its pipe, the run it is on and the runs it has left after that
    one (None: no limit)."""

    pid: int
    pipe: Connection
    run: int
    left: int | None
    busy: bool = True

    @property
    def reusable(self) -> bool:
        """Whether it waits for another message (idle, with runs left)."""
        return not self.busy and (self.left is None or self.left > 0)


class Zygote:
    """The zygote's state and loop (see the module).

    Fresh task processes are forked ahead of need (``spec.zygote_spares`` of them, waiting on
    their pipes), so a message starts in a process that exists already and the next fork
    happens while it runs: the fork is off the path from claim to start.

    Args:
        spec: the tasks, ``max_tasks_per_child`` and ``zygote_spares``.
        channel: the pipe to the supervisor.
        tasks: the tasks by name.
    """

    def __init__(self, spec: WorkerSpec, channel: Connection, tasks: dict[str, Task]) -> None:
        self.spec = spec
        self.channel = channel
        self.tasks = tasks
        self.children: dict[int, _Child] = {}  # slot -> the process running (or kept for) it
        self.spares: list[_Child] = []  # fresh processes waiting for a first message
        self.unreaped: dict[int, tuple[int, int, bool]] = {}  # pid -> slot, run, busy

    def loop(self) -> None:
        """Serve the supervisor until its pipe closes or it says stop; then kill what is left."""
        try:
            self._refill()
            while self._step():
                pass
        finally:
            alive = [*self.children.values(), *self.spares]
            for child in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
            for pid in [c.pid for c in alive] + list(self.unreaped):
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)

    def _step(self) -> bool:
        slots: dict[Any, int] = {c.pipe: s for s, c in self.children.items()}
        spares = [c.pipe for c in self.spares]
        timeout = _REAP_S if self.unreaped else None
        for ready in wait([self.channel, *slots, *spares], timeout=timeout):
            if ready is self.channel:
                if not self._request():
                    return False
            elif ready in slots:
                child = self.children.get(slots[ready])
                if child is not None and child.pipe is ready:
                    self._from_child(slots[ready])
            else:
                self._spare_died(ready)
        self._reap()
        return True

    # -- the supervisor's requests ---------------------------------------------------------------

    def _request(self) -> bool:
        try:
            request = self.channel.recv()
        except (EOFError, OSError):
            return False
        if request[0] == "run":
            self._run(*request[1:])
        elif request[0] == "kill":
            self._kill(*request[1:])
        else:
            return False
        return True

    def _run(self, slot: int, run: int, message: Message) -> None:
        child = self.children.get(slot)
        if child is not None and child.reusable and self._hand(child, run, message):
            child.left = None if child.left is None else child.left - 1
            return
        if child is not None:  # spent (it exits on its own) or gone
            self._retire(slot, self.children.pop(slot))
        while True:
            fresh = self.spares.pop(0) if self.spares else self._fork()
            if fresh is None:
                self.channel.send(("died", slot, run, None))
                return
            if self._hand(fresh, run, message):
                break
            self._retire(slot, fresh)  # a spare that died meanwhile: reaped quietly
        budget = self.spec.max_tasks_per_child  # 0: no limit
        fresh.left = budget - 1 if budget else None
        self.children[slot] = fresh
        self._refill()

    @staticmethod
    def _hand(child: _Child, run: int, message: Message) -> bool:
        try:
            child.pipe.send((run, message))
        except OSError:
            return False
        child.run, child.busy = run, True
        return True

    def _kill(self, slot: int, run: int) -> None:
        child = self.children.get(slot)
        if child is not None and child.run == run and child.busy:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)

    # -- task processes --------------------------------------------------------------------------

    def _refill(self) -> None:
        while len(self.spares) < self.spec.zygote_spares:
            spare = self._fork()
            if spare is None:
                return
            self.spares.append(spare)

    def _fork(self) -> _Child | None:
        """A fresh task process waiting for its first message (None if fork fails)."""
        ours, theirs = Pipe()
        try:
            pid = os.fork()
        except OSError as error:
            log.error("Cannot fork a task process: %s", error)
            ours.close()
            theirs.close()
            return None
        if pid == 0:  # the task process
            self._become_child(ours, theirs)
        theirs.close()
        return _Child(pid=pid, pipe=ours, run=0, left=None, busy=False)

    def _become_child(self, ours: Connection, theirs: Connection) -> None:
        zygote = os.getppid()
        if self.spec.max_tasks_per_child == 1:
            gc.disable()  # one run, then exit: its garbage goes with the process, no page copied
        try:
            ours.close()
            self.channel.close()
            for child in [*self.children.values(), *self.spares]:
                child.pipe.close()
            die_with_parent(zygote)
        except BaseException:
            os._exit(71)
        runner.serve(self.tasks, theirs, self.spec.max_tasks_per_child)

    def _from_child(self, slot: int) -> None:
        child = self.children[slot]
        try:
            run, payload = child.pipe.recv()
        except (EOFError, OSError):  # it exited (or was killed)
            self.children.pop(slot)
            self._retire(slot, child)
            return
        child.busy = False
        self.channel.send(("done", slot, run, payload))

    def _spare_died(self, pipe: Any) -> None:
        for spare in [s for s in self.spares if s.pipe is pipe]:
            self.spares.remove(spare)
            self._retire(-1, spare)

    def _retire(self, slot: int, child: _Child) -> None:
        """Forget ``child``'s pipe; report its run as died once it is reaped, if it was busy."""
        child.pipe.close()
        self.unreaped[child.pid] = (slot, child.run, child.busy)

    def _reap(self) -> None:
        for pid in list(self.unreaped):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if not done:
                continue
            slot, run, busy = self.unreaped.pop(pid)
            if busy:
                self.channel.send(("died", slot, run, os.waitstatus_to_exitcode(status)))


def run_zygote(spec: WorkerSpec, channel: Connection, parent_pid: int) -> None:
    """The zygote process's target: ignore the signals the supervisor handles, die with it,
    find the tasks (imported afresh unless forked with them), say ready, then loop."""
    die_with_parent(parent_pid)
    for signum in (signal.SIGINT, signal.SIGTERM):  # the supervisor decides when tasks stop
        signal.signal(signum, signal.SIG_IGN)
    spec.configure_logging()
    if spec.initializer is not None:
        spec.initializer()
    tasks = spec.resolve()
    gc.freeze()  # what is imported now is shared with every fork, and no child's GC touches it
    libc()  # loaded once here, not in every fork
    log.debug("Zygote (pid %s) started with %s task(s); it forks a process per run.",
              os.getpid(), len(tasks))  # fmt: skip
    channel.send(("ready", os.getpid(), time.monotonic()))
    Zygote(spec, channel, tasks).loop()
