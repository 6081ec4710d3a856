"""The backend an operator's command talks to: the given Redis URL and namespace, else those of
the environment (``ALSEK_REDIS_URL``, ``ALSEK_NAMESPACE``), else localhost and ``alsek``."""

from __future__ import annotations

from collections.abc import Mapping

from alsek.adapters.redis import RedisBackend
from alsek.app.settings import Settings


def admin_backend(
    redis_url: str | None = None,
    namespace: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> RedisBackend:
    """A Redis backend for administration (nothing connects until it is used).

    Raises:
        ValidationError: for a malformed URL (its password masked) or namespace.
    """
    settings = Settings.from_env(environ)
    return RedisBackend(redis_url or settings.redis_url, namespace=namespace or settings.namespace)
