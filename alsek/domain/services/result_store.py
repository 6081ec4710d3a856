"""Result storage: each result written with the ack that finishes its message, and waited for
through pub/sub rather than by polling. The rules (data model, waiting, descendants) live in
:mod:`alsek.domain.services.result_rules`, shared with the asyncio store."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from alsek.domain.model.message import Message
from alsek.domain.model.steps import Steps, drive
from alsek.domain.services import serialization
from alsek.domain.services.kv_steps import KeyValuePerformer
from alsek.domain.services.result_rules import Record, ResultRules, result_channel, result_name
from alsek.ports.keyvalue import KeyValueStore

log = logging.getLogger("alsek.results")

T = TypeVar("T")

__all__ = ["Record", "ResultStore", "result_channel", "result_name"]


class ResultStore(ResultRules):
    """Stores task results in a backend.

    Args:
        backend: where results are kept (values must suit its serializer).

    Example:
        >>> result_store = ResultStore(backend)
        >>> @task(broker, result_store=result_store)
        ... def add(a: int, b: int) -> int:
        ...     return a + b
        >>> result_store.get(add.generate(args=(1, 2)), timeout=5_000)
        3
    """

    backend: KeyValueStore

    def __init__(self, backend: KeyValueStore) -> None:
        super().__init__(backend)

    def _do(self, steps: Steps[T]) -> T:
        with KeyValuePerformer(self.backend) as perform:
            return drive(steps, perform)

    def serialize(self) -> dict[str, Any]:
        """The store's settings, its backend encoded (Alsek 1.3.2's form)."""
        return serialization.result_store_settings(self)

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> ResultStore:
        """The store :meth:`serialize` described, on a fresh backend."""
        return serialization.rebuilt(cls, data)  # type: ignore[no-any-return]

    def set(self, message: Message, result: Any, nx: bool = True) -> None:
        """Store ``result`` for ``message`` now (outside any queue operation) and announce it.

        Args:
            message: whose result it is.
            result: the result (anything the backend's serializer takes).
            nx: refuse to overwrite a stored result (as Alsek 1.3.2).

        Raises:
            KeyError: with ``nx``, if a result is stored for ``message`` already.
        """
        self._do(self.set_steps(message, result, nx))

    def exists(self, message: Message, descendants: bool = False) -> bool:
        """Whether the result of ``message`` is stored; with ``descendants``, whether the
        results of its whole callback chain are (for a trigger's progenitor: any run's)."""
        return self.collect(message, descendants)[1]

    def get(
        self,
        message: Message,
        timeout: int = 0,
        keep: bool = False,
        with_metadata: bool = False,
        descendants: bool = False,
    ) -> Any:
        """The result of ``message``, waiting for it up to ``timeout`` ms.

        Args:
            message: whose result to fetch.
            timeout: how long to wait, in milliseconds (0: do not wait).
            keep: keep the results after fetching them (by default they are deleted).
            with_metadata: return ``{"result", "timestamp", "uuid", "progenitor_uuid"}`` records
                (``timestamp``: when the result was written, ms since the epoch).
            descendants: return a list with the results of ``message`` and of every descendant
                (callbacks, trigger runs), ordered by the time they were written. It waits until
                the whole callback chain has results (for a trigger's progenitor: any run);
                after the timeout it returns the results that exist, if any.

        Returns:
            The result (or record), or a list of them with ``descendants``.

        Raises:
            ResultNotFoundError: (a ``KeyError``) if no result is available (without a timeout).
            ResultTimeoutError: (both a ``ResultNotFoundError`` and a ``TimeoutError``) if no
                result is available after ``timeout``.
            ValidationError: if ``timeout`` is not a non-negative integer.
        """
        return self._do(self.get_steps(message, timeout, keep, with_metadata, descendants))

    def take(
        self, records: list[Record], *, keep: bool, with_metadata: bool, descendants: bool
    ) -> Any:
        """Shape fetched ``records`` as :meth:`get` returns them, deleting them unless ``keep``."""
        return self._do(self.take_steps(records, keep, with_metadata, descendants))

    def delete(self, message: Message, descendants: bool = True, missing_ok: bool = False) -> int:
        """Delete the stored result of ``message`` and (by default, as Alsek 1.3.2) of its
        descendants.

        Returns:
            How many results were deleted.

        Raises:
            ResultNotFoundError: if there was nothing to delete and not ``missing_ok``.
        """
        return self._do(self.delete_steps(message, descendants, missing_ok))

    def collect(self, message: Message, descendants: bool = False) -> tuple[list[Record], bool]:
        """The stored records of ``message`` (and its descendants), oldest first, and whether
        they are complete (see :meth:`get`). Reads only; one or two round trips."""
        return self._do(self.collect_steps(message, descendants))

    def collect_many(self, messages: list[Message]) -> list[Record | None]:
        """The stored record of each of ``messages`` (None where missing), in one round trip."""
        return self._do(self.collect_many_steps(messages))
