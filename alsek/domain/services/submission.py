"""Submitting a task's messages: :meth:`generate` and :meth:`generate_many`, and their awaitable
twins :meth:`agenerate` and :meth:`agenerate_many` for asyncio code. Both pairs build, validate
and encode messages the same way and submit them in the same atomic step (the message with its
SUBMITTED status); only the call to the backend differs (awaited on its asyncio view)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from alsek.domain.model.effects import Effects
from alsek.domain.model.errors import MessageAlreadyExistsError, ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.status import TaskStatus
from alsek.domain.services import deferral
from alsek.domain.services.message_builder import CallbackType, build_message, generate_fields

if TYPE_CHECKING:
    from alsek.domain.services.broker import Broker

log = logging.getLogger("alsek.task")


class Submitting:
    """The submitting half of :class:`~alsek.domain.services.task.Task`."""

    if TYPE_CHECKING:
        broker: Broker
        name: str
        is_triggered: bool

        def status_effects(self, message: Message, status: TaskStatus) -> Effects: ...
        def on_submit(self, message: Message) -> None: ...

    def defer(self) -> Any:
        """Make the next :meth:`generate` (in this thread) build the message without submitting
        it. Deferrals add up: in ``t.defer().generate(callback=t.defer().generate())`` each
        ``generate()`` consumes the ``defer()`` before it, as nested callbacks need."""
        deferral.add(self)
        return self

    def cancel_defer(self) -> Any:
        """Undo every pending :meth:`defer` (in this thread)."""
        deferral.cancel(self)
        return self

    @property
    def deferred(self) -> bool:
        """Whether the next :meth:`generate` (in this thread) will skip submission."""
        return deferral.pending(self) > 0

    def generate(
        self,
        args: list[Any] | tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        priority: int | None = None,
        metadata: dict[str, Any] | None = None,
        result_ttl: int | None = None,
        uuid: str | None = None,
        timeout_override: int | None = None,
        delay: int | None = None,
        previous_result: Any = None,
        callback: CallbackType | None = None,
        queue: str | None = None,
        submit: bool = True,
    ) -> Message:
        """Build a message for this task and (unless deferred or ``submit=False``) submit it.

        Args:
            args: positional arguments for the function.
            kwargs: keyword arguments for the function.
            priority: overrides the task's priority (lower runs first).
            metadata: user data carried with the message.
            result_ttl: how long to keep the result, in milliseconds.
            uuid: the message id (generated when omitted).
            timeout_override: overrides the task's timeout, in milliseconds.
            delay: milliseconds to wait before the first run.
            previous_result: a result to hand the function's message.
            callback: a message, or a tuple of messages run one after another, submitted when
                this one succeeds.
            queue: overrides the task's queue.
            submit: whether to submit the message now.

        Returns:
            The message.

        Raises:
            ValidationError: for invalid arguments.
            SerializationError: if the arguments cannot be encoded (nothing is submitted).
        """
        message, now = self._build(submit, **_fields(locals()))
        if now:
            self.broker.submit(message, effects=self.status_effects(message, TaskStatus.SUBMITTED))
            self._announce_submission(message)
        return message

    async def agenerate(
        self,
        args: list[Any] | tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        priority: int | None = None,
        metadata: dict[str, Any] | None = None,
        result_ttl: int | None = None,
        uuid: str | None = None,
        timeout_override: int | None = None,
        delay: int | None = None,
        previous_result: Any = None,
        callback: CallbackType | None = None,
        queue: str | None = None,
        submit: bool = True,
    ) -> Message:
        """:meth:`generate` for asyncio code: the same message, validation and atomic submit,
        awaited on the backend's asyncio view, so the event loop never blocks.

        Raises:
            ValidationError: for invalid arguments, or on a triggered task (its schedule is
                set up by :meth:`generate`).
            SerializationError: if the arguments cannot be encoded (nothing is submitted).
        """
        self._refuse_triggered("agenerate")
        message, now = self._build(submit, **_fields(locals()))
        if now:
            effects = self.status_effects(message, TaskStatus.SUBMITTED)
            await self.broker.asubmit(message, effects=effects)
            self._announce_submission(message)
        return message

    def generate_many(self, calls: Iterable[Mapping[str, Any]]) -> list[Message]:
        """Build and submit one message per item of ``calls``, in one round trip per few
        hundred messages (each message is still submitted whole or not at all).

        Args:
            calls: per message, the keyword arguments :meth:`generate` takes (``args``,
                ``kwargs``, ``priority``, ``delay``, ``uuid``, ...), e.g. ``[{"args": (1, 2)}]``.

        Returns:
            The messages, in order.

        Raises:
            ValidationError: for an invalid item (nothing is submitted), or on a triggered task.
            SerializationError: if anything cannot be encoded (nothing is submitted).
            MessageAlreadyExistsError: if some uuids were already stored (the others were
                submitted).
        """
        submissions = self._build_many(calls, "generate_many")
        return self._submitted(submissions, self.broker.submit_many(submissions))

    async def agenerate_many(self, calls: Iterable[Mapping[str, Any]]) -> list[Message]:
        """:meth:`generate_many` for asyncio code (same batches, awaited)."""
        submissions = self._build_many(calls, "agenerate_many")
        return self._submitted(submissions, await self.broker.asubmit_many(submissions))

    # -- shared steps ----------------------------------------------------------------------------

    def _build(self, submit: bool, **fields: Any) -> tuple[Message, bool]:
        """The message and whether to submit it now (a pending deferral is consumed even when
        building fails)."""
        deferred = deferral.take(self)
        message = build_message(self, **fields)  # type: ignore[arg-type]
        return message, submit and not deferred

    def _refuse_triggered(self, method: str) -> None:
        if self.is_triggered:
            raise ValidationError(f"{self.name} is triggered by its schedule: use generate()")

    def _build_many(
        self, calls: Iterable[Mapping[str, Any]], method: str
    ) -> list[tuple[Message, Effects]]:
        self._refuse_triggered(method)
        messages = [build_message(self, **generate_fields(call)) for call in calls]  # type: ignore[arg-type]
        return [(m, self.status_effects(m, TaskStatus.SUBMITTED)) for m in messages]

    def _submitted(
        self, submissions: list[tuple[Message, Effects]], stored: list[bool]
    ) -> list[Message]:
        messages = [message for message, _ in submissions]
        for message, new in zip(messages, stored, strict=True):
            if new:
                self._announce_submission(message)
        existing = [m.uuid for m, new in zip(messages, stored, strict=True) if not new]
        if existing:
            raise MessageAlreadyExistsError(f"already stored, not submitted again: {existing}")
        return messages

    def _announce_submission(self, message: Message) -> None:
        try:
            self.on_submit(message)
        except Exception:  # the message is submitted: a hook's error must not say otherwise
            log.exception("on_submit() of %s raised for %s.", self.name, message.summary)


def _fields(arguments: dict[str, Any]) -> dict[str, Any]:
    """The :func:`build_message` fields among a ``generate`` call's ``arguments``."""
    fields = {k: v for k, v in arguments.items() if k not in ("self", "submit")}
    fields["timeout"] = fields.pop("timeout_override")
    return fields
