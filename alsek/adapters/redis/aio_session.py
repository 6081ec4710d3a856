"""The connection side of an :class:`~alsek.adapters.redis.aio_backend.AsyncRedisBackend`:
``redis.asyncio`` clients (one per event loop, since an asyncio connection belongs to the loop
that opened it), the same Lua scripts as the synchronous backend, and the driver that performs
the steps of the shared operations (:mod:`alsek.adapters.redis.steps`)."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import redis
import redis.asyncio as aioredis

from alsek.adapters.redis import client as client_module
from alsek.adapters.redis.client import translated
from alsek.adapters.redis.descriptions import DEFAULT_TIMEOUTS
from alsek.adapters.redis.scripts import Call, load_all
from alsek.adapters.redis.steps import (
    After,
    ClientCall,
    Command,
    Mget,
    Pipeline,
    Scan,
    Script,
    Sleep,
    Step,
)
from alsek.adapters.redis.urls import parse
from alsek.domain.model.errors import BackendConnectionError, ValidationError

AsyncConnection = str | aioredis.Redis | dict[str, Any] | None
_SCAN_COUNT = 1000
#: Settings of a synchronous client that an asyncio client takes as they are.
_SETTINGS = frozenset(
    ("host", "port", "db", "username", "password", "socket_timeout", "socket_connect_timeout",
     "socket_keepalive", "client_name", "health_check_interval", "ssl", "ssl_keyfile",
     "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "protocol")
)  # fmt: skip


class AsyncRedisSession:
    """One asynchronous backend's way to Redis. Nothing connects at construction.

    Args:
        connection: None (localhost:6379), a ``redis://``/``rediss://``/``unix://`` URL, or a
            ``redis.asyncio.Redis`` (used as given, on the loop that uses it first).
        durable: replicas that must have each submission before it returns (``WAIT``).
        durable_timeout_ms: how long a submission waits for them.

    Raises:
        ValidationError: for a connection of another type, a malformed URL, or a Sentinel or
            Cluster URL (the asyncio backend serves one server).
    """

    def __init__(
        self,
        connection: AsyncConnection = None,
        *,
        durable: int = 0,
        durable_timeout_ms: int = 1_000,
    ) -> None:
        if isinstance(connection, str):
            if parse(connection).kind != "redis":
                raise ValidationError("the asyncio backend serves one Redis server (redis:// URL)")
        elif not (connection is None or isinstance(connection, (aioredis.Redis, dict))):
            raise ValidationError(
                "connection must be None, a URL or a redis.asyncio.Redis, got "
                f"{type(connection).__name__}"
            )
        self.connection = connection
        self.durable = int(durable)
        self.durable_timeout_ms = durable_timeout_ms
        self.scripts = load_all()
        self._clients: weakref.WeakKeyDictionary[Any, aioredis.Redis] = weakref.WeakKeyDictionary()

    @property
    def client(self) -> aioredis.Redis:
        """The client of the running event loop (made on first use there)."""
        if isinstance(self.connection, aioredis.Redis):
            return self.connection
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._make_client()
            self._clients[loop] = client
        return client

    def _make_client(self) -> aioredis.Redis:
        if isinstance(self.connection, dict):  # a synchronous client's settings
            kwargs = {k: v for k, v in self.connection.items() if k in _SETTINGS}
            return aioredis.Redis(**{**DEFAULT_TIMEOUTS, **kwargs})
        url = self.connection or client_module.DEFAULT_URL
        return aioredis.Redis.from_url(url, **DEFAULT_TIMEOUTS)  # type: ignore[arg-type]

    @property
    def socket_timeout(self) -> float | None:
        """The client's socket timeout in seconds (None: none)."""
        if isinstance(self.connection, aioredis.Redis):
            value = self.connection.connection_pool.connection_kwargs.get("socket_timeout")
        elif isinstance(self.connection, dict):
            value = self.connection.get("socket_timeout", DEFAULT_TIMEOUTS["socket_timeout"])
        else:
            value = DEFAULT_TIMEOUTS["socket_timeout"]
        return float(value) if value else None

    async def perform(self, step: Step) -> Any:
        """Perform one step of an operation.

        Raises:
            BackendError: translated from redis-py.
        """
        if isinstance(step, Sleep):
            return await asyncio.sleep(step.seconds)
        client = self.client
        with translated():
            if isinstance(step, Script):
                reply = await self.run(client, step.name, step.call)
                if step.submit and self.durable:
                    await self._wait_for_replicas(client, step.name)
                return reply
            if isinstance(step, After):
                return await self._run_after(client, step)
            if isinstance(step, Command):
                return await client.execute_command(*step.args)
            if isinstance(step, ClientCall):
                return await getattr(client, step.method)(*step.args, **(step.kwargs or {}))
            if isinstance(step, Mget):
                return await client.mget(list(step.keys))
            if isinstance(step, Scan):
                return await self._scan(client, step.match)
            assert isinstance(step, Pipeline)
            pipe = client.pipeline(transaction=False)
            for command in step.commands:
                pipe.execute_command(*command)
            return await pipe.execute()

    async def run(self, client: aioredis.Redis, name: str, call: Call) -> Any:
        """Run script ``name`` by SHA; on ``NOSCRIPT`` load every script and run it again."""
        command = self.scripts.command(name, call)
        try:
            return await client.execute_command(*command)
        except redis.exceptions.NoScriptError:
            await self._load(client)
            return await client.execute_command(*command)

    async def _load(self, client: aioredis.Redis) -> None:
        pipe = client.pipeline(transaction=False)
        for script in self.scripts.scripts.values():
            pipe.execute_command("SCRIPT", "LOAD", script.source)
        await pipe.execute()

    async def _run_after(self, client: aioredis.Redis, step: After) -> tuple[Any, Any]:
        pipe = client.pipeline(transaction=False)
        pipe.execute_command(*step.first)
        pipe.execute_command(*self.scripts.command(step.name, step.call))
        first, reply = await pipe.execute(raise_on_error=False)
        if isinstance(reply, redis.exceptions.NoScriptError) and not isinstance(first, Exception):
            reply = await self.run(client, step.name, step.call)
        for each in (first, reply):
            if isinstance(each, Exception):
                raise each
        return first, reply

    async def _wait_for_replicas(self, client: aioredis.Redis, name: str) -> None:
        confirmed = await client.execute_command("WAIT", self.durable, self.durable_timeout_ms)
        if int(confirmed) < self.durable:
            raise BackendConnectionError(
                f"{name}: {confirmed} of {self.durable} replica(s) confirmed the write within "
                f"{self.durable_timeout_ms} ms; it is on the primary only"
            )

    @staticmethod
    async def _scan(client: aioredis.Redis, match: str) -> list[str]:
        seen: dict[str, None] = {}  # SCAN may return a key twice while the table is rehashed
        async for raw in client.scan_iter(match=match, count=_SCAN_COUNT):
            seen[raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw] = None
        return list(seen)

    async def close(self) -> None:
        """Disconnect the client of the running loop (idempotent)."""
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()
