"""A distributed lock: one owner at a time across processes and machines, expiring by itself.

Stored as ``locks:<name>`` holding ``{"owner", "expires_at"}``, set only if absent (``nx``) and
with a TTL, so a lock whose holder crashed frees itself when the TTL runs out.

Releasing deletes the key only if this owner still holds it: :meth:`Lock.release` reads the
record and deletes it with the port's atomic compare-and-delete (``delete_if_equal``), so a
successor that took the lock after it expired is never touched.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from types import TracebackType
from typing import Any

from alsek.domain.model.errors import ValidationError
from alsek.ports.keyvalue import KeyValueStore

log = logging.getLogger("alsek.lock")

#: Default lifetime of a lock, in milliseconds (1 hour).
DEFAULT_LOCK_TTL_MS = 3_600_000


def lock_name(name: str) -> str:
    """The storage name of the lock called ``name``."""
    return f"locks:{name}"


def new_owner_id() -> str:
    """An owner id unique to one lock object: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Lock:
    """A distributed mutual-exclusion lock.

    Using it as a context manager does not acquire it: call :meth:`acquire` inside; on exit the
    lock is released if this owner holds it.

    Args:
        name: the lock's name; locks are global (include a queue in the name to scope one).
        backend: where the lock lives.
        ttl: lifetime in milliseconds, after which the lock frees itself even if its holder
            crashed (default 1 hour; None: never expires).
        owner_id: who holds it when acquired (default: unique to this object, so two ``Lock``
            objects never share ownership, not even in one thread).
        auto_release: release on leaving the ``with`` block (default True).

    Example:
        >>> with Lock("send_data", backend=backend) as lock:
        ...     if lock.acquire(strict=False):
        ...         print("Sending data...")
    """

    def __init__(
        self,
        name: str,
        backend: KeyValueStore,
        ttl: int | None = DEFAULT_LOCK_TTL_MS,
        owner_id: str | None = None,
        auto_release: bool = True,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValidationError(f"lock name must be a non-empty string, got {name!r}")
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0):
            raise ValidationError(f"ttl must be None or a positive integer (ms), got {ttl!r}")
        self.name = name
        self.backend = backend
        self.ttl = ttl
        self.owner_id = owner_id or new_owner_id()
        self.auto_release = auto_release

    def __repr__(self) -> str:
        return f"Lock(name={self.name!r}, ttl={self.ttl!r}, owner_id={self.owner_id!r})"

    @property
    def long_name(self) -> str:
        """The storage name of the lock."""
        return lock_name(self.name)

    def _record(self) -> dict[str, Any] | None:
        value = self.backend.get(self.long_name, default=None)
        return value if isinstance(value, dict) else None

    @property
    def holder(self) -> str | None:
        """The owner id of whoever holds the lock now, if anyone."""
        record = self._record()
        return None if record is None else record.get("owner")

    @property
    def held(self) -> bool:
        """Whether this owner holds the lock."""
        return self.holder == self.owner_id

    def acquire(self, strict: bool = True) -> bool:
        """Try to take the lock, without waiting.

        Args:
            strict: if True, only a call that takes the lock returns True; if False, also
                return True when this owner already holds it.

        Returns:
            Whether this owner holds the lock as a result of the call (see ``strict``).
        """
        now = self.backend.clock.now_ms()
        record = {
            "owner": self.owner_id,
            "expires_at": None if self.ttl is None else now + self.ttl,
        }
        try:
            self.backend.set(self.long_name, record, nx=True, ttl=self.ttl)
        except KeyError:
            return not strict and self.held
        log.debug("Acquired lock %r as %s.", self.name, self.owner_id)
        return True

    def release(self) -> bool:
        """Give the lock up, if this owner holds it (only the owner can release it).

        Returns:
            Whether this owner held the lock.
        """
        record = self._record()
        if record is None or record.get("owner") != self.owner_id:
            return False
        if not self.backend.delete_if_equal(self.long_name, record):
            return False  # it expired (and maybe changed hands) since it was read
        log.debug("Released lock %r.", self.name)
        return True

    def __enter__(self) -> Lock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.auto_release:
            self.release()
