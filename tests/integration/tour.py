"""Run the guided tour's examples as written, against the test session's redis-server.

The tour talks to "Redis running on localhost" (``RedisBackend()``, ``Redis()``, ``@task(...)``).
:func:`redirect_localhost` points those defaults at the session's server for one test, so the
examples below run verbatim.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
import redis

from alsek.adapters.redis import client as redis_client_module
from alsek.app import facade


def redirect_localhost(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Make localhost defaults (RedisBackend(), Redis(), @task(...)) mean the server at ``url``."""
    connection = redis.Redis.from_url(url).connection_pool.connection_kwargs
    real_init = redis.Redis.__init__

    def local_init(self: redis.Redis, *args: Any, **kwargs: Any) -> None:
        if not args and not {"host", "port", "connection_pool", "unix_socket_path"} & set(kwargs):
            kwargs = {"host": connection["host"], "port": connection["port"], **kwargs}
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(redis_client_module, "DEFAULT_URL", url)
    monkeypatch.setattr(redis.Redis, "__init__", local_init)
    monkeypatch.setenv("ALSEK_REDIS_URL", url)
    monkeypatch.setattr(facade, "_container", None)


def run(snippet: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute a tour snippet (dedented) and return its namespace."""
    scope: dict[str, Any] = {"__name__": "tour_snippet"} if namespace is None else namespace
    exec(compile(textwrap.dedent(snippet), "<tour>", "exec"), scope)  # noqa: S102 - the tour
    return scope
