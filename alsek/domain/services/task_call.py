"""How a task's function is called with a message: the tour's ``message`` parameter rules."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from alsek.domain.model.message import Message

_MESSAGE = "message"


def _annotation_allows_message(function: Callable[..., Any], annotation: Any) -> bool:
    if annotation is inspect.Parameter.empty:
        return True
    if isinstance(annotation, str):
        try:
            annotation = typing.get_type_hints(function).get(_MESSAGE, annotation)
        except Exception:  # an unresolvable forward reference: judge by its spelling
            return annotation.rsplit(".", 1)[-1].strip("'\"") == "Message"
    return annotation is Message


def accepts_message(function: Callable[..., Any]) -> bool:
    """Whether ``function`` takes the message: it has a ``message`` parameter whose type hint is
    absent or resolves to :class:`Message`."""
    try:
        parameter = inspect.signature(function).parameters.get(_MESSAGE)
    except (TypeError, ValueError):
        return False
    return parameter is not None and _annotation_allows_message(function, parameter.annotation)


def has_parameters(function: Callable[..., Any]) -> bool:
    """Whether ``function`` declares any parameter at all."""
    try:
        return bool(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return False


def call_with_message(function: Callable[..., Any], message: Message, *, pass_message: bool) -> Any:
    """Call ``function`` with the message's args and kwargs, adding ``message=`` when the function
    takes it and the kwargs do not already hold a ``message`` key."""
    kwargs = message.kwargs
    if pass_message and _MESSAGE not in kwargs:
        kwargs = {**kwargs, _MESSAGE: message}
    return function(*message.args, **kwargs)
