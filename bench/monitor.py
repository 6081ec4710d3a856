"""Who sends which Redis commands: a short, untimed pass under MONITOR.

INFO commandstats (the headline number) counts every command Redis executes,
including those a Lua script runs with ``redis.call`` and those inside
MULTI/EXEC. This pass tells the two apart: commands sent by clients versus
commands run inside scripts, split into the enqueue side and the worker side.
MONITOR slows Redis down, so nothing here is timed.
"""

from __future__ import annotations

import threading
from collections import Counter

import redis

PHASE_MARK = "bench-monitor-phase"
END_MARK = "bench-monitor-end"
JOIN_TIMEOUT_S = 60.0


class CommandMonitor:
    """Collect MONITOR lines in a background thread, ignoring one connection (the harness's)."""

    def __init__(self, url: str, ignore_addr: str) -> None:
        self._redis = redis.Redis.from_url(url)
        self._ignore = ignore_addr
        self.counts: dict[str, Counter] = {"enqueue": Counter(), "worker": Counter()}
        self._thread = threading.Thread(target=self._run, name="bench-monitor", daemon=True)
        self._ready = threading.Event()

    def start(self) -> CommandMonitor:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("MONITOR did not start")
        return self

    def _run(self) -> None:
        phase = "enqueue"
        with self._redis.monitor() as m:
            self._ready.set()
            while True:
                line = m.connection.read_response()
                if isinstance(line, bytes):
                    line = line.decode(errors="replace")
                head, _, command = line.partition("] ")
                client = head.rsplit(" ", 1)[-1]
                if PHASE_MARK in command:
                    phase = "worker"
                    continue
                if END_MARK in command:
                    return
                if client == self._ignore:
                    continue
                kind = "script" if client == "lua" else "client"
                name = command.split(" ", 1)[0].strip('"').lower()
                self.counts[phase][(kind, name)] += 1

    def mark_phase(self, r: redis.Redis) -> None:
        """Everything after this belongs to the worker side."""
        r.echo(PHASE_MARK)

    def stop(self, r: redis.Redis) -> None:
        """End the pass (bounded)."""
        r.echo(END_MARK)
        self._thread.join(JOIN_TIMEOUT_S)

    def per_task(self, tasks: int) -> dict[str, float]:
        """Commands per task by side (enqueue/worker) and kind (client/script)."""
        out = {}
        for phase, counter in self.counts.items():
            for kind in ("client", "script"):
                out[f"{phase}_{kind}"] = sum(v for (k, _), v in counter.items() if k == kind) / tasks
        out["client_total"] = out["enqueue_client"] + out["worker_client"]
        out["script_total"] = out["enqueue_script"] + out["worker_script"]
        return out
