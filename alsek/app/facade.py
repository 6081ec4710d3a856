"""The library façade's defaults, built by the container on first use (never at import)."""

from __future__ import annotations

import threading

from alsek.app.container import Container
from alsek.domain.services.broker import Broker

_lock = threading.Lock()
_container: Container | None = None


def default_container() -> Container:
    """The container behind defaults such as ``@task(...)`` without a broker."""
    global _container
    with _lock:
        if _container is None:
            _container = Container()
        return _container


def default_broker() -> Broker:
    """A new broker (with its own task registry) on the default backend.

    The backend is shared and connects on first use; its URL comes from ``ALSEK_REDIS_URL``,
    else localhost:6379.
    """
    return default_container().broker()
