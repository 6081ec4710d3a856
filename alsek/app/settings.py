"""Settings: the one place (with the CLI) that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from attrs import frozen

REDIS_URL_VARIABLE = "ALSEK_REDIS_URL"
NAMESPACE_VARIABLE = "ALSEK_NAMESPACE"


@frozen(kw_only=True)
class Settings:
    """Where alsek finds Redis when the code does not say.

    Attributes:
        redis_url: URL of the default Redis (None: localhost:6379).
        namespace: key prefix of the default backend.
    """

    redis_url: str | None = None
    namespace: str = "alsek"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``ALSEK_REDIS_URL`` and ``ALSEK_NAMESPACE`` (from ``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        return cls(
            redis_url=env.get(REDIS_URL_VARIABLE) or None,
            namespace=env.get(NAMESPACE_VARIABLE) or "alsek",
        )
