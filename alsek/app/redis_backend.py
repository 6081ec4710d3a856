"""The tour's ``RedisBackend``: the Redis adapter, whose default server comes from alsek's
settings (adapters never read the environment; the composition root does).
"""

from __future__ import annotations

from typing import Any

from alsek.adapters.redis.backend import RedisBackend as _RedisAdapter
from alsek.adapters.redis.session import Connection
from alsek.app.facade import default_container


class RedisBackend(_RedisAdapter):
    """:class:`alsek.adapters.redis.RedisBackend` (see there for every argument), except that
    with no connection it uses the default Redis of alsek's settings: ``ALSEK_REDIS_URL``
    when set, or under a worker pool its ``--redis-url`` (in the supervisor and in every child
    process), else ``localhost:6379``.
    """

    def __init__(self, connection: Connection = None, *, conn: Connection = None, **options: Any):
        if connection is None and conn is None:
            connection = default_container().settings().redis_url
        super().__init__(connection, conn=conn, **options)
