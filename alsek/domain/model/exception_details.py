"""What a message keeps of the exception that failed it: Alsek 1.3.2's ``ExceptionDetails``."""

from __future__ import annotations

import builtins
import importlib
import traceback as traceback_module
from typing import Any, NamedTuple, NoReturn


class ExceptionDetails(NamedTuple):
    """An exception as plain values: its class name, text and formatted traceback.

    ``message.exception_details`` holds :meth:`as_dict` of one (``{"name", "text",
    "traceback"}``); ``ExceptionDetails(**message.exception_details)`` gives it back.
    """

    name: str
    text: str | None = None
    traceback: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """``{"name", "text", "traceback"}``."""
        return self._asdict()

    def raise_as_exception(self) -> NoReturn:
        """Raise an exception of the recorded class with the recorded text (a builtin by name,
        another class by its dotted path; ``Exception`` when it cannot be found)."""
        raise _exception_class(self.name)(self.text)


def parse_exception(error: BaseException) -> ExceptionDetails:
    """The details of ``error`` (its class name, text and traceback)."""
    text = "".join(traceback_module.format_exception(type(error), error, error.__traceback__))
    return ExceptionDetails(name=type(error).__name__, text=str(error), traceback=text)


def _exception_class(name: str) -> type[BaseException]:
    found = getattr(builtins, name, None)
    if found is None and "." in name:
        module, _, attribute = name.rpartition(".")
        try:
            found = getattr(importlib.import_module(module), attribute, None)
        except ImportError:
            found = None
    if isinstance(found, type) and issubclass(found, BaseException):
        return found
    return Exception
