"""Redis clients for the backend: lazy creation, picklable descriptions, error translation.

Nothing here connects at import or construction time: a client is built (still without connecting)
the first time the backend needs it, and redis-py connects on the first command.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from alsek.domain.model.errors import BackendConnectionError, BackendError, ValidationError

DEFAULT_URL = "redis://localhost:6379/0"

# Settings of clients the backend builds itself (URL or default). One retry, at once: a pooled
# connection that died with a Redis restart is replaced transparently; a down server fails fast and
# the caller (a worker loop) decides how to back off. URL query options override these.
_CLIENT_DEFAULTS: dict[str, Any] = {
    "socket_connect_timeout": 5.0,
    "socket_timeout": 30.0,
}

# Connection settings carried to child processes: plain values only, never sockets or objects.
_PORTABLE = {
    "host", "port", "db", "username", "password", "path", "socket_timeout",
    "socket_connect_timeout", "socket_keepalive", "client_name", "health_check_interval",
    "encoding", "encoding_errors", "decode_responses", "protocol", "retry_on_timeout",
}  # fmt: skip


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Translate redis-py errors raised inside the block into alsek's errors.

    Raises:
        BackendConnectionError: for connection and timeout errors.
        BackendError: for any other redis-py error.
    """
    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
        raise BackendConnectionError(f"Redis is unreachable: {error}") from error
    except redis.exceptions.RedisError as error:
        raise BackendError(f"Redis error: {error}") from error


class LazyClient:
    """A Redis client built by ``factory`` the first time it is needed.

    Args:
        factory: a callable returning a ``redis.Redis``; called at most once, on first use.

    Example:
        ``RedisBackend(LazyClient(lambda: Redis()))`` connects on the backend's first operation.
    """

    def __init__(self, factory: Callable[[], redis.Redis]) -> None:
        if not callable(factory):
            raise ValidationError(f"LazyClient needs a callable, got {factory!r}")
        self._factory = factory
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()

    @property
    def resolved(self) -> bool:
        """Whether the factory has been called."""
        return self._client is not None

    def get(self) -> redis.Redis:
        """The client, built by the factory on the first call (thread-safe)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    with translated():
                        self._client = self._factory()
        return self._client

    def __getattr__(self, name: str) -> Any:
        # Behave like the client itself for code that expects one.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.get(), name)

    def __reduce__(self) -> Any:
        raise TypeError(
            "LazyClient is not picklable; pickle the RedisBackend (it describes itself)"
        )

    def __repr__(self) -> str:
        return f"LazyClient({'resolved' if self.resolved else 'pending'})"


_fork_safe_pools: weakref.WeakSet[Any] = weakref.WeakSet()
_fork_hook_lock = threading.Lock()
_fork_hook_installed = False


def fork_safe(client: redis.Redis) -> redis.Redis:
    """Make ``client`` usable in a child forked while another thread held its pool's locks.

    redis-py resets a pool in a forked child under the pool's own locks; a lock held by a parent
    thread at the moment of the fork stays held forever in the child, which then hangs on its first
    command. After a fork, the child gets fresh locks for every pool registered here (the pool's
    reset then drops the parent's sockets as usual).
    """
    global _fork_hook_installed
    with _fork_hook_lock:
        if not _fork_hook_installed:
            os.register_at_fork(after_in_child=_renew_pool_locks)
            _fork_hook_installed = True
    _fork_safe_pools.add(client.connection_pool)
    return client


def _renew_pool_locks() -> None:  # pragma: no cover - runs in forked children
    for pool in list(_fork_safe_pools):
        for name in ("_fork_lock", "_lock"):
            if hasattr(pool, name):
                setattr(pool, name, type(getattr(pool, name))())


def check_url(url: str) -> str:
    """Return ``url`` if redis-py can parse it (parsing only: nothing connects).

    Raises:
        ValidationError: naming the problem.
    """
    try:
        redis.connection.parse_url(url)
    except ValueError as error:
        raise ValidationError(f"invalid Redis URL {url!r}: {error}") from error
    return url


def client_from_url(url: str | None) -> redis.Redis:
    """A client (not yet connected) for ``url``, or for localhost:6379 when None."""
    with translated():
        try:
            return redis.Redis.from_url(
                url or DEFAULT_URL, retry=Retry(NoBackoff(), 1), **_CLIENT_DEFAULTS
            )
        except ValueError as error:
            raise ValidationError(f"invalid Redis URL {url!r}: {error}") from error


def bytes_client(connection: redis.Redis | LazyClient) -> redis.Redis:
    """The client of ``connection``, or, if it decodes replies to text, a client with the same
    settings that does not (stored bodies are bytes and may not be UTF-8)."""
    client = connection.get() if isinstance(connection, LazyClient) else connection
    if not client.connection_pool.connection_kwargs.get("decode_responses"):
        return client
    description = describe_client(client)
    description["kwargs"]["decode_responses"] = False
    return client_from_description(description)


def describe_client(client: redis.Redis) -> dict[str, Any]:
    """What a child process needs to build an equivalent client: plain values only."""
    pool = client.connection_pool
    cls = pool.connection_class
    kwargs = {
        name: value
        for name, value in pool.connection_kwargs.items()
        if (name in _PORTABLE or name.startswith("ssl_"))
        and (value is None or isinstance(value, (str, int, float, bool)))
    }
    return {"connection_class": f"{cls.__module__}:{cls.__qualname__}", "kwargs": kwargs}


def client_from_description(description: dict[str, Any]) -> redis.Redis:
    """Rebuild a client from :func:`describe_client`'s output (no connection is made)."""
    cls = import_path(description["connection_class"])
    pool = redis.ConnectionPool(connection_class=cls, **description["kwargs"])
    return redis.Redis(connection_pool=pool)


def class_path(obj: Any) -> str:
    """``module:QualName`` of ``obj``'s class."""
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def import_path(path: str) -> Any:
    """The object named by a ``module:QualName`` path.

    Raises:
        BackendError: if it cannot be imported.
    """
    module_name, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as error:
        raise BackendError(f"cannot import {path!r}: {error}") from error
    return obj
