"""The composition root of the library's defaults: settings -> the default backend -> brokers.

The worker CLI's container is :class:`~alsek.app.worker_container.WorkerContainer`.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from alsek.adapters.redis import RedisBackend
from alsek.app.settings import Settings
from alsek.domain.services.broker import Broker


class Container(containers.DeclarativeContainer):
    """Builds alsek's objects from :class:`Settings`. Override providers in tests."""

    settings = providers.Singleton(Settings.from_env)
    backend = providers.Singleton(
        RedisBackend,
        providers.Callable(lambda s: s.redis_url, settings),
        namespace=providers.Callable(lambda s: s.namespace, settings),
    )
    broker = providers.Factory(Broker, backend)
