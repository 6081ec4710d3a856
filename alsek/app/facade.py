"""The library façade's defaults, built by the container on first use (never at import)."""

from __future__ import annotations

import threading

from dependency_injector import providers

from alsek.app.container import Container
from alsek.app.settings import Settings
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


def use_settings(settings: Settings) -> None:
    """Build the defaults from ``settings`` from now on (instead of ``ALSEK_REDIS_URL`` and
    ``ALSEK_NAMESPACE``): tasks defined without a broker afterwards use its Redis.

    The worker CLI calls it in the supervisor before it imports the tasks, and (as the pools'
    initializer) in every child process before the child looks its tasks up.
    """
    container = default_container()
    current = container.settings.last_overriding
    if current is not None and current() == settings:
        return  # already in use (a forked child inherits its parent's)
    container.settings.reset_override()
    container.settings.override(providers.Object(settings))
    container.backend.reset()
