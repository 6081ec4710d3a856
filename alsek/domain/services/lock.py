"""A distributed lock: one owner at a time across processes and machines, expiring by itself.

Stored as ``locks:<name>`` holding ``{"owner", "expires_at"}``, set only if absent (``nx``) and
with a TTL, so a lock whose holder crashed frees itself when the TTL runs out.

Releasing deletes the key only if this owner still holds it: :meth:`Lock.release` reads the
record and deletes it with the port's atomic compare-and-delete (``delete_if_equal``), so a
successor that took the lock after it expired is never touched. A release is announced on the
channel ``locks:<name>``, so ``acquire(wait=...)`` waits without polling.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from types import TracebackType
from typing import Any

from alsek.domain.model.errors import (
    LockAlreadyAcquiredError,
    LockNotAcquiredError,
    ValidationError,
)
from alsek.domain.model.lock_record import lock_name, release_owned
from alsek.domain.services.notification import Deadline, drain
from alsek.ports.keyvalue import MISSING, KeyValueStore

log = logging.getLogger("alsek.lock")

#: Default lifetime of a lock, in milliseconds (1 hour).
DEFAULT_LOCK_TTL_MS = 3_600_000


_IF_ALREADY_ACQUIRED = ("raise_error", "return_true", "return_false")


def _wait_ms(wait: Any) -> int | None:
    if wait is None:
        return None
    if isinstance(wait, float):
        raise ValidationError(
            f"wait is in milliseconds (an int), got {wait!r}; Alsek 1.3.2 took seconds: "
            "multiply by 1000"
        )
    if not isinstance(wait, int) or isinstance(wait, bool) or wait < 0:
        raise ValidationError(f"wait must be None or a non-negative integer (ms), got {wait!r}")
    return wait


def new_owner_id() -> str:
    """An owner id unique to one lock object: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Lock:
    """A distributed mutual-exclusion lock.

    Using it as a context manager does not acquire it: call :meth:`acquire` inside; on exit the
    lock is released if this owner holds it.

    Parameters may be given by position in Alsek 1.3.2's order.

    Args:
        name: the lock's name; locks are global (include a queue in the name to scope one).
        backend: where the lock lives.
        ttl: lifetime in milliseconds, after which the lock frees itself even if its holder
            crashed (default 1 hour; None: never expires).
        auto_release: release on leaving the ``with`` block (default True).
        owner_id: who holds it when acquired (default: unique to this object, so two ``Lock``
            objects never share ownership, not even in one thread; Alsek 1.3.2 shared one
            owner per host: pass ``owner_id=`` to share).

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
        auto_release: bool = True,
        owner_id: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValidationError(f"lock name must be a non-empty string, got {name!r}")
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0):
            raise ValidationError(f"ttl must be None or a positive integer (ms), got {ttl!r}")
        self.name = name
        self.backend = backend
        self.ttl = ttl
        self._owner_id = owner_id or new_owner_id()
        self.auto_release = auto_release

    @property
    def owner_id(self) -> str:
        """Who holds the lock when this object acquires it."""
        return self._owner_id

    def __repr__(self) -> str:
        return f"Lock(name={self.name!r}, ttl={self.ttl!r}, owner_id={self.owner_id!r})"

    @property
    def long_name(self) -> str:
        """The storage name of the lock."""
        return lock_name(self.name)

    @property
    def full_name(self) -> str:
        """The stored key of the lock (namespace included)."""
        return self.backend.full_name(self.long_name)

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

    def acquire(
        self,
        wait: int | None = None,
        if_already_acquired: str | None = None,
        *,
        strict: bool = True,
    ) -> bool:
        """Try to take the lock.

        Args:
            wait: how long to wait for it, in milliseconds (None or 0: do not wait); a release
                wakes the wait at once. A float is refused: Alsek 1.3.2 took seconds here.
            if_already_acquired: when this owner holds it already, ``"return_true"``,
                ``"return_false"`` or ``"raise_error"`` (Alsek 1.3.2's option); it wins over
                ``strict``.
            strict: without ``if_already_acquired``: if True, only a call that takes the lock
                returns True; if False, also return True when this owner already holds it.

        Returns:
            Whether this owner holds the lock as a result of the call (see above).

        Raises:
            LockAlreadyAcquiredError: with ``if_already_acquired="raise_error"`` when this owner
                holds it already.
            ValidationError: for a bad ``wait`` or ``if_already_acquired``.
        """
        if if_already_acquired is not None and if_already_acquired not in _IF_ALREADY_ACQUIRED:
            raise ValidationError(
                f"if_already_acquired must be one of {_IF_ALREADY_ACQUIRED}, got "
                f"{if_already_acquired!r}"
            )
        deadline = Deadline(_wait_ms(wait) or 0)
        if self._take():
            return True
        if self.held:
            return self._already_acquired(if_already_acquired, strict)
        if not wait:
            return False
        with self.backend.subscribe(self.long_name) as released:
            while not deadline.passed:
                if self._take():
                    return True
                if released.get(self._wait_step_ms(deadline)) is not MISSING:
                    drain(released)
            return self._take()

    def _take(self) -> bool:
        now = self.backend.clock.now_ms()
        record = {
            "owner": self.owner_id,
            "expires_at": None if self.ttl is None else now + self.ttl,
        }
        try:
            self.backend.set(self.long_name, record, nx=True, ttl=self.ttl)
        except KeyError:
            return False
        log.debug("Acquired lock %r as %s.", self.name, self.owner_id)
        return True

    def _already_acquired(self, if_already_acquired: str | None, strict: bool) -> bool:
        if if_already_acquired == "raise_error":
            raise LockAlreadyAcquiredError(f"lock {self.name!r} is already held by {self.owner_id}")
        if if_already_acquired is not None:
            return if_already_acquired == "return_true"
        return not strict

    def _wait_step_ms(self, deadline: Deadline) -> int:
        """How long to sleep for a release: until the deadline, or the holder's expiry."""
        step = deadline.remaining_ms()
        record = self._record()
        expires_at = None if record is None else record.get("expires_at")
        if isinstance(expires_at, int):
            step = min(step, max(expires_at - self.backend.clock.now_ms(), 0) + 1)
        return step

    def release(self, raise_if_not_acquired: bool = False) -> bool:
        """Give the lock up, if this owner holds it (only the owner can release it).

        Args:
            raise_if_not_acquired: raise instead of returning False when this owner does not
                hold it.

        Returns:
            Whether this owner held the lock.

        Raises:
            LockNotAcquiredError: with ``raise_if_not_acquired``, if this owner did not hold it.
        """
        if not release_owned(self.backend, self.name, self.owner_id):
            if raise_if_not_acquired:
                raise LockNotAcquiredError(f"lock {self.name!r} is not held by {self.owner_id}")
            return False
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
