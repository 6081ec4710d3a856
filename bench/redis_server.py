"""A throwaway redis-server on a free loopback port, for one benchmark run.

Used until (or unless) alsek ships its own launcher; nothing is persisted.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time

import redis

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_version(binary: str = "redis-server") -> str:
    """``redis-server --version`` output, or ``"-"``."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "-"
    return out.stdout.strip()


def launcher():  # type: ignore[no-untyped-def]
    """alsek's own RedisServer (free loopback port, no persistence) when it imports, else LocalRedis."""
    try:
        from alsek.adapters.redis.server import RedisServer
    except Exception:  # noqa: BLE001 - fall back to the local launcher
        return LocalRedis()
    return RedisServer()


class LocalRedis:
    """Start and stop one redis-server process (no persistence, loopback only)."""

    def __init__(self, binary: str = "redis-server") -> None:
        self.binary = shutil.which(binary) or binary
        self.port = 0
        self._proc: subprocess.Popen | None = None
        self._dir: tempfile.TemporaryDirectory | None = None

    @property
    def url(self) -> str:
        """The server's URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> LocalRedis:
        """Start the server and wait (bounded) until it answers PING."""
        self._dir = tempfile.TemporaryDirectory(prefix="bench-redis-")
        self.port = free_port()
        argv = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", self._dir.name,
            "--daemonize", "no", "--loglevel", "warning", "--maxclients", "2000",
        ]
        log = open(f"{self._dir.name}/redis.log", "wb")  # noqa: SIM115 - lives as long as the server
        self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._proc.returncode}")
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer PING in time")

    def stop(self) -> None:
        """Stop the server (SHUTDOWN NOSAVE, then terminate/kill, all bounded)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(redis.RedisError):
                redis.Redis.from_url(self.url, socket_timeout=2).shutdown(nosave=True)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
