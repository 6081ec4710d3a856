"""Running the dashboard: a uvicorn server, in the foreground (the CLI) or in a thread (tests)."""

from __future__ import annotations

import threading
import time
from typing import Any

from alsek.dashboard.security import LOOPBACK_HOSTS, is_loopback
from alsek.domain.model.errors import ValidationError
from alsek.ports.backend import Backend


def _uvicorn() -> Any:
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as error:
        raise ValidationError(
            "the dashboard needs Starlette and uvicorn: pip install 'alsek[dashboard]'"
        ) from error
    return uvicorn


def build_server(
    backend: Backend, *, host: str = "127.0.0.1", port: int = 8080, token: str | None = None
) -> Any:
    """A uvicorn server of the dashboard on ``backend``.

    Args:
        backend: the backend to show and act on.
        host: the address to bind; anything but loopback requires ``token``.
        port: the port (0: any free one).
        token: the sign-in token (required off loopback).

    Raises:
        ValidationError: without the ``alsek[dashboard]`` extra, or off loopback without a
            token.
    """
    uvicorn = _uvicorn()
    if not is_loopback(host) and not token:
        raise ValidationError(
            f"the dashboard can change state: bound to {host} it needs --token (or bind it to "
            "127.0.0.1 and reach it through an SSH tunnel)"
        )
    from alsek.dashboard.web import create_app

    app = create_app(
        backend, token=token, allowed_hosts=LOOPBACK_HOSTS if is_loopback(host) else None
    )
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    return uvicorn.Server(config)


class BackgroundServer:
    """A dashboard server in a daemon thread (for tests and embedding).

    Args:
        server: what :func:`build_server` made.
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self._thread = threading.Thread(target=server.run, name="alsek-dashboard", daemon=True)

    def start(self, timeout_s: float = 10) -> str:
        """Start it; return its base URL once it listens.

        Raises:
            TimeoutError: if it does not listen within ``timeout_s``.
        """
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise TimeoutError("the dashboard did not start")
            time.sleep(0.01)
        (sock,) = self.server.servers[0].sockets
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Ask it to stop and wait for it."""
        self.server.should_exit = True
        self._thread.join(timeout=10)
