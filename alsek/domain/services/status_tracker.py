"""Status tracking: every change written atomically with the queue operation that causes it, and
announced on pub/sub so that waiting and listening never poll. The rules (data model, waiting,
listening) live in :mod:`alsek.domain.services.status_rules`, shared with the asyncio tracker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from alsek.domain.model.message import Message
from alsek.domain.model.status import StatusUpdate, TaskStatus
from alsek.domain.model.steps import Steps, drive, iterate
from alsek.domain.services import serialization
from alsek.domain.services.kv_steps import KeyValuePerformer
from alsek.domain.services.status_rules import (
    DEFAULT_STATUS_TTL_MS,
    StatusRules,
    status_channel,
    status_name,
)
from alsek.ports.keyvalue import KeyValueStore

log = logging.getLogger("alsek.status")

T = TypeVar("T")

__all__ = [
    "DEFAULT_STATUS_TTL_MS",
    "StatusTracker",
    "StatusUpdate",
    "status_channel",
    "status_name",
]


class StatusTracker(StatusRules):
    """Tracks the status of messages.

    Args:
        backend: where statuses are kept.
        ttl: how long a status is kept after its last change, in milliseconds (default 7 days;
            None: forever).
        enable_pubsub: accepted for Alsek 1.3.2 code; it has no effect: every change is always
            published, since that is how waiting and listening avoid polling.

    Example:
        >>> status_tracker = StatusTracker(backend)
        >>> @task(broker, status_tracker=status_tracker)
        ... def sum_n(n: int) -> int:
        ...     return n * (n + 1) // 2
        >>> status_tracker.get(sum_n.generate(kwargs={"n": 100}))
        <TaskStatus.SUBMITTED: 1>
    """

    backend: KeyValueStore

    def __init__(
        self,
        backend: KeyValueStore,
        ttl: int | None = DEFAULT_STATUS_TTL_MS,
        enable_pubsub: bool | None = None,
    ) -> None:
        super().__init__(backend, ttl, enable_pubsub)

    def _do(self, steps: Steps[T]) -> T:
        with KeyValuePerformer(self.backend) as perform:
            return drive(steps, perform)

    def serialize(self) -> dict[str, Any]:
        """The tracker's settings, its backend encoded (Alsek 1.3.2's form)."""
        return serialization.status_tracker_settings(self)

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> StatusTracker:
        """The tracker :meth:`serialize` described, on a fresh backend."""
        return serialization.rebuilt(cls, data)  # type: ignore[no-any-return]

    # -- writing ---------------------------------------------------------------------------------

    def set(self, message: Message, status: TaskStatus, details: Any = None) -> None:
        """Record ``status`` for ``message`` now, with ``details`` (anything the serializer
        takes), and announce it."""
        self._do(self.set_steps(message, status, details))

    def publish_update(self, message: Message, update: StatusUpdate) -> None:
        """Announce ``update`` for ``message`` without recording it."""
        self._do(self.publish_steps(message, update))

    def delete(self, message: Message, check: bool = True, missing_ok: bool = False) -> None:
        """Forget the status of ``message`` (as Alsek 1.3.2).

        Args:
            message: whose status to forget.
            check: refuse to forget a status that is not terminal (the message may still run).
            missing_ok: do nothing when there is no status (else ``KeyError``).

        Raises:
            ValidationError: with ``check``, if the status is not FAILED or SUCCEEDED.
            KeyError: if there is none and not ``missing_ok``.
        """
        self._do(self.delete_steps(message, check, missing_ok))

    # -- reading ---------------------------------------------------------------------------------

    def exists(self, message: Message) -> bool:
        """Whether a status is recorded for ``message``."""
        return self._do(self.exists_steps(message))

    def get(self, message: Message) -> TaskStatus:
        """The status of ``message`` (``TaskStatus.UNKNOWN`` when none is recorded)."""
        return self._do(self.status_steps(message))

    def get_update(self, message: Message) -> StatusUpdate | None:
        """The last status change of ``message`` (status, details, time), or None: Alsek
        1.3.2's ``get``."""
        return self._do(self.update_steps(message))

    # -- waiting ---------------------------------------------------------------------------------

    def wait_for(
        self,
        message: Message,
        status: TaskStatus | Iterable[TaskStatus],
        timeout: int | None = 5_000,
        poll_interval: Any = None,
        raise_on_timeout: bool = True,
    ) -> TaskStatus:
        """Wait until ``message`` reaches ``status`` (or one of several), without polling.

        A status that is passed through while waiting counts, even if it has already been
        replaced by the time this method looks.

        Args:
            message: the message to watch.
            status: the status, or a collection of statuses, to wait for.
            timeout: the longest to wait, in milliseconds, an int (None: no limit). A float is
                refused: Alsek 1.3.2 took seconds here.
            poll_interval: accepted for Alsek 1.3.2 code; no effect (nothing polls).
            raise_on_timeout: raise when the time is up (else return the current status).

        Returns:
            The status reached; after a timeout without ``raise_on_timeout``, the current one
            (``UNKNOWN`` when none is recorded).

        Raises:
            WaitTimeoutError: (a ``TimeoutError``) if none of ``status`` was reached in time.
            ValidationError: for a bad ``status`` or a float ``timeout``.
        """
        return self._do(self.wait_steps(message, status, timeout, raise_on_timeout))

    def listen_to_updates(
        self, message: Message, auto_exit: bool = True, timeout: int | None = None
    ) -> Iterator[StatusUpdate]:
        """Yield the status of ``message`` and then each change as it happens, without polling.

        Ends after a terminal status (FAILED, SUCCEEDED), or UNKNOWN as set by the integrity
        scanner for a message that vanished (unless not ``auto_exit``), or at the timeout.

        Args:
            message: the message to watch.
            auto_exit: stop after a final status (False: listen until the timeout).
            timeout: the longest to listen, in milliseconds (None: no limit).
        """
        with KeyValuePerformer(self.backend) as perform:
            yield from iterate(self.listen_steps(message, auto_exit, timeout), perform)
