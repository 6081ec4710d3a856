"""Backoff policies: how long a failed message waits before it is tried again.

All durations are milliseconds. The number of *incidents* is the number of failed attempts so far.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from attrs import field, frozen

from alsek.domain.model.errors import ValidationError

BackoffSettings = dict[str, Any]

_MINUTE_MS = 60_000
_HOUR_MS = 3_600_000


def _non_negative(instance: Any, attribute: Any, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValidationError(
            f"{attribute.name} must be a non-negative integer (ms), got {value!r}"
        )


@frozen(kw_only=True)
class Backoff:
    """Base of every backoff policy.

    Args:
        floor: the smallest backoff in milliseconds, or None for no floor.
        ceiling: the largest backoff in milliseconds, or None for no ceiling.
        zero_override: when True, the backoff for zero incidents is 0 whatever the formula says.
    """

    algorithm: ClassVar[str] = "Backoff"

    floor: int | None = field(default=_MINUTE_MS, validator=_non_negative)
    ceiling: int | None = field(default=_HOUR_MS, validator=_non_negative)
    zero_override: bool = True

    def __attrs_post_init__(self) -> None:
        if self.floor is not None and self.ceiling is not None and self.floor > self.ceiling:
            raise ValidationError(f"floor ({self.floor}) is greater than ceiling ({self.ceiling})")

    def formula(self, incidents: int) -> int:
        """The raw backoff in milliseconds before floor and ceiling apply."""
        raise NotImplementedError

    def get(self, incidents: int) -> int:
        """The backoff in milliseconds after ``incidents`` failed attempts."""
        if self.zero_override and incidents == 0:
            return 0
        backoff = self.formula(incidents)
        if self.floor is not None and backoff < self.floor:
            return self.floor
        if self.ceiling is not None and backoff > self.ceiling:
            return self.ceiling
        return backoff

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters that, with the class, fully describe this policy."""
        raise NotImplementedError

    @property
    def settings(self) -> BackoffSettings:
        """``{"algorithm": name, "parameters": {...}}``: what a message stores."""
        return {"algorithm": self.algorithm, "parameters": self.parameters}


@frozen(kw_only=True)
class ConstantBackoff(Backoff):
    """The same backoff after every incident.

    Args:
        constant: the backoff in milliseconds (default 60,000).
        floor: as for :class:`Backoff`, but no floor by default, so ``constant`` is what you get.
    """

    algorithm: ClassVar[str] = "ConstantBackoff"
    floor: int | None = field(default=None, validator=_non_negative)
    constant: int = field(default=_MINUTE_MS, validator=_non_negative)

    def formula(self, incidents: int) -> int:
        """Always ``constant``."""
        return self.constant

    @property
    def parameters(self) -> dict[str, Any]:
        """Parameters of this policy."""
        return {
            "constant": self.constant,
            "floor": self.floor,
            "ceiling": self.ceiling,
            "zero_override": self.zero_override,
        }


@frozen(kw_only=True)
class LinearBackoff(Backoff):
    """A backoff that grows by ``factor`` milliseconds per incident.

    Args:
        factor: milliseconds added per incident (default 60,000).
        floor: as for :class:`Backoff`, but no floor by default, so the first retry waits
            ``factor``.
    """

    algorithm: ClassVar[str] = "LinearBackoff"
    floor: int | None = field(default=None, validator=_non_negative)
    factor: int = field(default=_MINUTE_MS, validator=_non_negative)

    def formula(self, incidents: int) -> int:
        """``factor * incidents``."""
        return int(self.factor * incidents)

    @property
    def parameters(self) -> dict[str, Any]:
        """Parameters of this policy."""
        return {
            "factor": self.factor,
            "floor": self.floor,
            "ceiling": self.ceiling,
            "zero_override": self.zero_override,
        }


@frozen(kw_only=True)
class ExponentialBackoff(Backoff):
    """A backoff of ``factor * base ** incidents`` milliseconds.

    Args:
        base: the base of the exponential (default 4).
        factor: milliseconds multiplied by the power (default 10,000).
    """

    algorithm: ClassVar[str] = "ExponentialBackoff"
    base: int = field(default=4, validator=_non_negative)

    @base.validator
    def _base_at_least_one(self, attribute: Any, value: int) -> None:
        if value < 1:
            raise ValidationError(f"base must be at least 1 (a smaller base shrinks), got {value}")

    factor: int = field(default=10_000, validator=_non_negative)

    def formula(self, incidents: int) -> int:
        """``factor * base ** incidents``, computed in at most ~64 steps whatever ``incidents``."""
        if self.factor == 0 or self.base == 1:
            return self.factor
        # Stop multiplying once past the ceiling (or 2**63 without one): the result is clamped
        # anyway, and huge incident counts stay cheap.
        limit = self.ceiling if self.ceiling is not None else 2**63
        value = self.factor
        for _ in range(incidents):
            value *= self.base
            if value > limit:
                break
        return value

    @property
    def parameters(self) -> dict[str, Any]:
        """Parameters of this policy."""
        return {
            "base": self.base,
            "factor": self.factor,
            "floor": self.floor,
            "ceiling": self.ceiling,
            "zero_override": self.zero_override,
        }


_ALGORITHMS: dict[str, type[Backoff]] = {
    cls.algorithm: cls for cls in (ConstantBackoff, LinearBackoff, ExponentialBackoff)
}

#: The backoff a task gets when none is given.
DEFAULT_BACKOFF = ExponentialBackoff()

#: ``backoff=None`` means no waiting at all.
NO_BACKOFF = ConstantBackoff(constant=0, floor=0, ceiling=0, zero_override=True)


def settings_to_backoff(settings: BackoffSettings) -> Backoff:
    """Rebuild a policy from its ``settings``.

    Raises:
        ValidationError: if the algorithm is unknown or the parameters do not fit it.
    """
    try:
        algorithm = _ALGORITHMS[settings["algorithm"]]
        return algorithm(**settings["parameters"])
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ValidationError):
            raise
        raise ValidationError(f"invalid backoff settings {settings!r}: {error}") from error


_RECENTLY_VALID: list[BackoffSettings] = []  # the few settings a deployment uses, checked once
_RECENT_MAX = 8


def check_backoff_settings(settings: Any) -> None:
    """Check that ``settings`` rebuild a policy that computes backoffs (every decoded message is
    checked: settings seen valid recently cost one comparison).

    Raises:
        ValidationError: naming the settings otherwise.
    """
    for known in _RECENTLY_VALID:
        if settings == known:
            return
    try:
        settings_to_backoff(settings).get(1)
    except ValidationError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever the parameters make the formula raise
        raise ValidationError(f"invalid backoff settings {settings!r}: {error}") from error
    _RECENTLY_VALID.insert(0, copy.deepcopy(settings))
    del _RECENTLY_VALID[_RECENT_MAX:]


def backoff_or_default(backoff: Backoff | None) -> Backoff:
    """Map the ``backoff=None`` option to :data:`NO_BACKOFF`."""
    return NO_BACKOFF if backoff is None else backoff
