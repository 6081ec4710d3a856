"""The asyncio result store: :class:`ResultStore`'s rules
(:mod:`alsek.domain.services.result_rules`) awaited on an asynchronous backend. ``await
store.get(message, timeout=...)`` waits on pub/sub, never by polling, without blocking the
event loop."""

from __future__ import annotations

from typing import Any, TypeVar

from alsek.domain.model.message import Message
from alsek.domain.model.steps import Steps, adrive
from alsek.domain.services.kv_steps import AsyncKeyValuePerformer
from alsek.domain.services.result_rules import Record, ResultRules
from alsek.ports.async_backend import AsyncBackend

T = TypeVar("T")


class AsyncResultStore(ResultRules):
    """Task results for asyncio code: the methods of :class:`ResultStore`, each a coroutine,
    with the same rules.

    Args:
        backend: an asynchronous backend (e.g. ``AsyncRedisBackend``, or a synchronous
            backend's ``to_async()``).

    Example:
        >>> store = AsyncResultStore(AsyncRedisBackend("redis://localhost:6379"))
        >>> await store.get(await add.agenerate(args=(1, 2)), timeout=5_000)
        3
    """

    backend: AsyncBackend

    def __init__(self, backend: AsyncBackend) -> None:
        super().__init__(backend)

    async def _do(self, steps: Steps[T]) -> T:
        async with AsyncKeyValuePerformer(self.backend) as perform:
            return await adrive(steps, perform)

    async def set(self, message: Message, result: Any, nx: bool = True) -> None:
        """Store ``result`` for ``message`` now and announce it; see :meth:`ResultStore.set`."""
        await self._do(self.set_steps(message, result, nx))

    async def exists(self, message: Message, descendants: bool = False) -> bool:
        """Whether the result of ``message`` (with ``descendants``: of its chain) is stored."""
        return (await self.collect(message, descendants))[1]

    async def get(
        self,
        message: Message,
        timeout: int = 0,
        keep: bool = False,
        with_metadata: bool = False,
        descendants: bool = False,
    ) -> Any:
        """The result of ``message``, waiting for it up to ``timeout`` ms on pub/sub; see
        :meth:`ResultStore.get` for the arguments.

        Raises:
            ResultNotFoundError: if no result is available (without a timeout).
            ResultTimeoutError: if no result is available after ``timeout``.
            ValidationError: if ``timeout`` is not a non-negative integer.
        """
        return await self._do(self.get_steps(message, timeout, keep, with_metadata, descendants))

    async def delete(
        self, message: Message, descendants: bool = True, missing_ok: bool = False
    ) -> int:
        """Delete the results of ``message`` (and its descendants); see
        :meth:`ResultStore.delete`."""
        return await self._do(self.delete_steps(message, descendants, missing_ok))

    async def collect(
        self, message: Message, descendants: bool = False
    ) -> tuple[list[Record], bool]:
        """The stored records of ``message`` and whether they are complete."""
        return await self._do(self.collect_steps(message, descendants))
