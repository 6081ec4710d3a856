"""The I/O steps of a Redis operation, and the drivers that perform them.

An operation (:mod:`alsek.adapters.redis.protocol`) is a generator: it builds each script call
(:mod:`~alsek.adapters.redis.calls`), yields it as a step, receives the reply and decodes it.
It never talks to Redis itself, so :class:`~alsek.adapters.redis.queue.RedisMessageQueue`
(redis-py) and :class:`~alsek.adapters.redis.aio_queue.AsyncRedisMessageQueue`
(``redis.asyncio``) run the same operations with the same scripts: only the driver differs.
An error a driver meets while performing a step is thrown into the operation at that step.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

from attrs import frozen

from alsek.adapters.redis.scripts import Call
from alsek.domain.model.steps import adrive, drive

__all__ = ["After", "ClientCall", "Command", "Mget", "Pipeline", "Scan", "Script", "Sleep",
           "Step", "Steps", "adrive", "drive"]  # fmt: skip

T = TypeVar("T")


@frozen
class Script:
    """Run Lua script ``name`` with ``call`` (``submit``: with ``WAIT`` when durable)."""

    name: str
    call: Call
    submit: bool = False


@frozen
class After:
    """Send the blocking command ``first`` and then script ``name``, in one write; the reply
    is both replies."""

    first: tuple[Any, ...]
    name: str
    call: Call


@frozen
class Command:
    """Run one Redis command (its reply parsed as redis-py parses that command)."""

    args: tuple[Any, ...]


@frozen
class ClientCall:
    """Call the client's method ``method`` (redis-py's sync and asyncio clients share names and
    arguments), e.g. ``ClientCall("set", (key, raw), {"px": 100})``."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] | None = None


@frozen
class Pipeline:
    """Run several commands in one round trip (no transaction); the reply is their list."""

    commands: tuple[tuple[Any, ...], ...]


@frozen
class Scan:
    """The stored keys matching a SCAN pattern, each once (a list)."""

    match: str


@frozen
class Mget:
    """The values of stored ``keys`` (None for absent ones), in order."""

    keys: tuple[str, ...]


@frozen
class Sleep:
    """Pause for ``seconds`` (the reply is None)."""

    seconds: float


Step = Script | After | Command | ClientCall | Pipeline | Scan | Mget | Sleep
Steps = Generator[Step, Any, T]
