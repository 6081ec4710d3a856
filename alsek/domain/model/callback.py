"""Callback chains: a flat tuple of messages becomes one nested chain; a finished message yields its
callback with the result and lineage filled in."""

from __future__ import annotations

import copy
from typing import Any

from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message


def nest_callbacks(callback: Message | tuple[Message, ...] | list[Message]) -> Message:
    """Chain callbacks so that each one runs after the one before it.

    A tuple ``(m1, m2, m3)`` becomes ``m1`` carrying ``m2`` carrying ``m3`` in
    ``callback_message_data``. The messages in the tuple are updated in place, as the tour says.

    Args:
        callback: one message, or a non-empty tuple (or list) of messages.

    Returns:
        The head of the chain.

    Raises:
        ValidationError: for an empty tuple, a non-message, or a message before the last one
            that already carries a callback (the chain would be ambiguous).
    """
    if isinstance(callback, Message):
        return callback
    chain = list(callback)
    if not chain:
        raise ValidationError("callback tuple is empty")
    for position, item in enumerate(chain):
        if not isinstance(item, Message):
            raise ValidationError(f"callback #{position} is {type(item).__name__}, not Message")
        if position < len(chain) - 1 and item.callback_message_data:
            raise ValidationError(
                f"callback #{position} ({item.summary}) already has a callback; "
                "only the last message of a tuple may carry one"
            )
    for earlier, later in zip(reversed(chain[:-1]), reversed(chain[1:]), strict=True):
        earlier.callback_message_data = copy.deepcopy(later.data)  # no dicts shared with `later`
    return chain[0]


def next_callback(finished: Message, result: Any) -> Message | None:
    """The callback to submit after ``finished`` succeeded with ``result``, or None.

    The callback's ``previous_result`` and ``previous_message_uuid`` point at ``finished``; its
    progenitor is the root of the chain (``finished``'s progenitor, else ``finished`` itself).
    """
    if not finished.callback_message_data:
        return None
    callback = Message.from_data(dict(finished.callback_message_data))
    callback.previous_result = result
    callback.previous_message_uuid = finished.uuid
    callback.progenitor_uuid = finished.progenitor_uuid or finished.uuid
    return callback
