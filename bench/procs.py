"""Worker subprocesses: start in their own session, measure, stop with bounded waits."""

from __future__ import annotations

import compileall
import contextlib
import functools
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
TERM_WAIT_S = 10.0
KILL_WAIT_S = 5.0


@functools.cache
def compile_bytecode() -> None:
    """Write the ``.pyc`` files of alsek and of the benchmark's task modules, once per run.

    ``pip install`` compiles a package's bytecode, so every peer starts from cached ``.pyc``;
    an editable install of alsek does not, and where ``PYTHONDONTWRITEBYTECODE`` is set
    (as on these machines) Python never caches it either: each worker launch would compile
    alsek's modules from source again (about 0.1 s of its boot here). Compiling ahead puts
    alsek on the same footing as what users install.
    """
    for package in ("alsek", "bench"):
        compileall.compile_dir(str(REPO_ROOT / package), quiet=1, workers=1)


class Workers:
    """One worker command (and every process it spawns)."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.argv = argv
        self.log_path = log_path
        compile_bytecode()
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), full_env.get("PYTHONPATH", "")) if p
        )
        full_env.update(env)
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        #: When the worker command was launched (``time.perf_counter()``): drains count from here.
        self.launched_at = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, env=full_env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._seen: dict[int, psutil.Process] = {}

    def alive(self) -> bool:
        """Whether the top worker process is still running."""
        return self.proc.poll() is None

    def tree(self) -> list[psutil.Process]:
        """The worker process and all its live descendants (remembered for stop())."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        for p in procs:
            self._seen.setdefault(p.pid, p)
        return procs

    def rss_bytes(self) -> int:
        """Sum of resident set sizes over the process tree."""
        return sum(_safe(lambda p=p: p.memory_info().rss) for p in self.tree())

    def cpu_seconds(self) -> float:
        """User + system CPU time of the live process tree (and reaped children)."""
        total = 0.0
        for p in self.tree():
            t = _safe(p.cpu_times)
            if t:
                total += t.user + t.system + t.children_user + t.children_system
        return total

    def log_tail(self, lines: int = 20) -> str:
        """Last lines of the workers' combined output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the top process, wait (bounded), then SIGKILL whatever is left."""
        self.tree()
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(TERM_WAIT_S)
        if self.alive():
            _killpg(self.proc.pid)
        leftovers = [p for p in self._seen.values() if _safe(p.is_running)]
        for p in leftovers:
            _safe(p.kill)
        psutil.wait_procs(leftovers, timeout=KILL_WAIT_S)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(KILL_WAIT_S)
        self._log.close()


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _safe(fn):  # type: ignore[no-untyped-def]
    try:
        return fn()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return 0
