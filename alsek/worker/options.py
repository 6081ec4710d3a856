"""Checks of the worker pools' numeric options."""

from __future__ import annotations

from typing import Any

from alsek.domain.model.errors import ValidationError


def non_negative(name: str, value: Any) -> int:
    """``value`` if it is an integer >= 0.

    Raises:
        ValidationError: naming ``name`` otherwise.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def positive(name: str, value: Any) -> int:
    """``value`` if it is an integer > 0.

    Raises:
        ValidationError: naming ``name`` otherwise.
    """
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValidationError(f"{name} must be a positive integer, got {value!r}")
    return value
