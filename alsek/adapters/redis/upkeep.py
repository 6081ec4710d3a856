"""Checks and repairs a worker runs at start, off the hot path: is the server fit (version,
eviction, clock), are the queues' keys of the right types, and are all stored bodies indexed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from alsek.adapters.codec import decode_message
from alsek.adapters.redis.calls import CallBuilder
from alsek.adapters.redis.claims import bury
from alsek.adapters.redis.client import translated
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.scripts import Call
from alsek.adapters.redis.session import SCAN_COUNT, RedisSession
from alsek.domain.model.errors import BackendError, CorruptMessageError, QueueDamagedError
from alsek.domain.model.message import Message

log = logging.getLogger("alsek.adapters.redis")

#: The oldest Redis the scripts run on (ZMSCORE, float BLPOP timeouts).
MIN_VERSION = (6, 2)
#: Clocks further apart than this (ms) earn a warning even when leases use Redis' clock.
SKEW_WARNING_MS = 1_000
#: Bodies sent to one repair script call.
REPAIR_BATCH = 500

_EXPECTED = (  # index key -> the type Redis reports for it
    ("slots", "hash"), ("ready", "zset"), ("delayed", "zset"), ("leased", "zset"),
    ("seq", "string"), ("signal", "list"),
)  # fmt: skip


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


class RedisUpkeep:
    """Start-up checks and repairs of a :class:`RedisMessageQueue`.

    Args:
        session: the connection to Redis.
        keys: the key layout.
        calls: builds script calls.
        new_call: a :class:`Call` for now.
    """

    def __init__(
        self,
        session: RedisSession,
        keys: KeyLayout,
        calls: CallBuilder,
        new_call: Callable[[], Call],
    ) -> None:
        self._session = session
        self._keys = keys
        self._calls = calls
        self._new_call = new_call

    # -- health ----------------------------------------------------------------------------------

    def check_health(self, queues: Sequence[str], *, lease_ms: int, server_time: bool) -> list[str]:
        """Warnings about the server; raises if it cannot serve ``queues`` (see the port)."""
        client = self._session.client
        with translated():
            version = _text(client.info("server").get("redis_version"))
            server_s, server_us = client.time()
        if _version(version) < MIN_VERSION:
            raise BackendError(f"Redis {'.'.join(map(str, MIN_VERSION))} or later is required; "
                               f"the server runs {version}")  # fmt: skip
        self._check_queues(queues)
        warnings = self._eviction()
        skew = self._new_call().now_ms - (int(server_s) * 1000 + int(server_us) // 1000)
        if not server_time and abs(skew) > lease_ms // 2:
            raise BackendError(
                f"this machine's clock is {skew:+,} ms off Redis' and the backend's clock sets "
                f"the leases: more than half a lease ({lease_ms // 2:,} ms); fix the clock"
            )
        if abs(skew) > SKEW_WARNING_MS:
            warnings.append(
                f"this machine's clock is {skew:+,} ms off Redis'; leases and due times use "
                "Redis' clock, but message timestamps made here are off by as much"
            )
        return warnings

    def _eviction(self) -> list[str]:
        try:
            with translated():
                config = self._session.client.config_get("maxmemory*")
        except BackendError:  # CONFIG may be disabled (managed Redis): nothing to say
            return []
        settings = {_text(k): _text(v) for k, v in config.items()}
        policy = settings.get("maxmemory-policy", "noeviction")
        if settings.get("maxmemory", "0") in ("0", "") or policy == "noeviction":
            return []
        what = (
            "message bodies and indexes"
            if policy.startswith("allkeys")
            else "results, statuses and dead letters"
        )
        return [f"maxmemory-policy is {policy!r}: when Redis fills up it may evict {what}; "
                "use 'noeviction'"]  # fmt: skip

    def _check_queues(self, queues: Sequence[str]) -> None:
        """Raise :class:`QueueDamagedError` naming every key of ``queues`` of the wrong type."""
        checks = [(queue, name, kind) for queue in queues for name, kind in _EXPECTED]
        with translated():
            pipe = self._session.client.pipeline(transaction=False)
            for queue, name, _ in checks:
                pipe.type(getattr(self._keys.queue(queue), name))
            pipe.type(self._keys.queue_set)
            found = [_text(t) for t in pipe.execute()]
        problems = [
            f"queue {queue!r}: {getattr(self._keys.queue(queue), name)} is a {kind_found}, "
            f"not a {kind}"
            for (queue, name, kind), kind_found in zip(checks, found, strict=False)
            if kind_found not in ("none", kind)
        ]
        if found[-1] not in ("none", "set"):
            problems.append(f"{self._keys.queue_set} is a {found[-1]}, not a set")
        if problems:
            raise QueueDamagedError(
                "keys of the wrong type (written by hand? delete or fix them): "
                + "; ".join(problems)
            )

    # -- repair ----------------------------------------------------------------------------------

    def repair(self, queue: str) -> int:
        """Index again the bodies of ``queue`` that no index holds; bury unreadable ones."""
        bodies = self._keys.queue(queue).bodies
        keys = list(self._session.scan_keys(self._keys.pattern(f"queues:{queue}:tasks:")))
        fixed = 0
        for start in range(0, len(keys), SCAN_COUNT):
            batch = self._unindexed(queue, keys[start : start + SCAN_COUNT])
            if not batch:
                continue
            with translated():
                raws = self._session.client.mget(batch)
            found = [
                (key, raw)
                for key, raw in zip(batch, raws, strict=True)
                if raw is not None and key.startswith(bodies)
            ]
            readable = self._readable(queue, found)
            for first in range(0, len(readable), REPAIR_BATCH):
                call = self._calls.repair(
                    self._new_call(), queue, readable[first : first + REPAIR_BATCH]
                )
                fixed += int(self._session.run("repair", call))
        if fixed:
            log.warning("Indexed again %s stored message(s) of queue %r that no index held.",
                        fixed, queue)  # fmt: skip
        return fixed

    def _unindexed(self, queue: str, keys: list[Any]) -> list[Any]:
        """The body keys of ``keys`` whose member no index of ``queue`` holds now (one round
        trip): only those are read, decoded and sent to the repair script, which checks again
        atomically. On a long backlog almost every body is indexed: this keeps a start cheap."""
        queue_keys = self._keys.queue(queue)
        prefix, members = len(queue_keys.bodies), []
        keys = [key for key in keys if _text(key).startswith(queue_keys.bodies)]
        for key in keys:
            task, _, uuid = _text(key)[prefix:].rpartition(":messages:")
            members.append(f"{uuid}|{task}")
        if not members:
            return []
        with translated():
            pipe = self._session.client.pipeline(transaction=False)
            for index in (queue_keys.leased, queue_keys.ready, queue_keys.delayed):
                pipe.zmscore(index, members)
            scores = pipe.execute()
        held = [any(s is not None for s in found) for found in zip(*scores, strict=True)]
        return [key for key, indexed in zip(keys, held, strict=True) if not indexed]

    def _readable(self, queue: str, found: list[tuple[str, Any]]) -> list[tuple[str, Message]]:
        """The decoded messages of ``found`` (key, raw); bodies that do not decode to the
        message their key names are moved to the dead letter queue."""
        readable = []
        prefix = len(self._keys.queue(queue).bodies)
        for key, raw in found:
            task, _, uuid = key[prefix:].rpartition(":messages:")
            name = self._keys.short_name(key)
            try:
                message = decode_message(self._calls.serializer, raw, name)
                if (message.uuid, message.task_name, message.queue) != (uuid, task, queue):
                    raise CorruptMessageError(f"{name!r} holds another message", name=name)
            except CorruptMessageError as error:
                log.error("Moving corrupt message body %r to the dead letter queue: %s",
                          name, error)  # fmt: skip
                bury(self._keys, self._calls, self._session.run, self._new_call(), queue,
                     (uuid, task, key), raw)  # fmt: skip
                continue
            readable.append((key, message))
        return readable
