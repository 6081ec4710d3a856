"""Backoff policies: how long a failed message waits before it is tried again.

All durations are milliseconds. The number of *incidents* is the number of failed attempts so far.
Every policy takes the shared ``floor`` (default 60,000), ``ceiling`` (default 3,600,000) and
``zero_override`` (default True), and keeps them in its ``settings``, as the tour's Message repr
shows. A policy is rebuilt from its settings by class name (:func:`settings_to_backoff`), user
subclasses included, so a subclass written for Alsek 1.3.2 (an ``__init__`` that passes the
shared keywords on, a ``parameters`` property and a ``formula``) works unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

from alsek.domain.model.errors import ValidationError

BackoffSettings = dict[str, Any]
#: Alsek 1.3.2's name of :data:`BackoffSettings`.
BackoffSettingsType = BackoffSettings

_MINUTE_MS = 60_000
_HOUR_MS = 3_600_000


def _non_negative_ms(name: str, value: Any, *, optional: bool = False) -> Any:
    if value is None and optional:
        return value
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"{name} must be a non-negative integer (ms), got {value!r}")
    return value


class Backoff:
    """Base of every backoff policy.

    Args:
        floor: the smallest backoff in milliseconds, or None for no floor (default 60,000).
        ceiling: the largest backoff in milliseconds, or None for no ceiling (default 3,600,000).
        zero_override: when True, the backoff for zero incidents is 0 whatever the formula says.

    Raises:
        ValidationError: for a negative or non-integer bound, or ``floor > ceiling``.
    """

    #: The name stored in ``settings`` (default: the class name, for every subclass).
    algorithm = "Backoff"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "algorithm" not in cls.__dict__:
            cls.algorithm = cls.__name__

    def __init__(
        self,
        floor: int | None = _MINUTE_MS,
        ceiling: int | None = _HOUR_MS,
        zero_override: bool = True,
    ) -> None:
        self.floor = _non_negative_ms("floor", floor, optional=True)
        self.ceiling = _non_negative_ms("ceiling", ceiling, optional=True)
        self.zero_override = bool(zero_override)
        if floor is not None and ceiling is not None and floor > ceiling:
            raise ValidationError(f"floor ({floor}) is greater than ceiling ({ceiling})")

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
    def shared_parameters(self) -> dict[str, Any]:
        """``floor``, ``ceiling`` and ``zero_override``: what every policy's settings carry."""
        return {"floor": self.floor, "ceiling": self.ceiling, "zero_override": self.zero_override}

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters that, with the class, fully describe this policy."""
        raise NotImplementedError

    @property
    def settings(self) -> BackoffSettings:
        """``{"algorithm": name, "parameters": {...}}``: what a message stores."""
        return {"algorithm": self.algorithm, "parameters": self.parameters}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.parameters == self.parameters  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self.parameters.items()))))

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self.parameters.items())
        return f"{type(self).__name__}({body})"


class ConstantBackoff(Backoff):
    """The same backoff after every incident (clamped by ``floor`` and ``ceiling``).

    Args:
        constant: the backoff in milliseconds (default 60,000).
        **shared: ``floor``, ``ceiling``, ``zero_override`` (see :class:`Backoff`); pass
            ``floor=0`` for a constant below a minute.
    """

    def __init__(self, constant: int = _MINUTE_MS, **shared: Any) -> None:
        super().__init__(**shared)
        self.constant = _non_negative_ms("constant", constant)

    def formula(self, incidents: int) -> int:
        """Always ``constant``."""
        return self.constant

    @property
    def parameters(self) -> dict[str, Any]:
        """Parameters of this policy."""
        return {"constant": self.constant, **self.shared_parameters}


class LinearBackoff(Backoff):
    """A backoff that grows by ``factor`` milliseconds per incident.

    Args:
        factor: milliseconds added per incident (default 30,000).
        **shared: ``floor``, ``ceiling``, ``zero_override`` (see :class:`Backoff`).
    """

    def __init__(self, factor: int = 30_000, **shared: Any) -> None:
        super().__init__(**shared)
        self.factor = _non_negative_ms("factor", factor)

    def formula(self, incidents: int) -> int:
        """``factor * incidents``."""
        return int(self.factor * incidents)

    @property
    def parameters(self) -> dict[str, Any]:
        """Parameters of this policy."""
        return {"factor": self.factor, **self.shared_parameters}


class ExponentialBackoff(Backoff):
    """A backoff of ``factor * base ** incidents`` milliseconds.

    Args:
        base: the base of the exponential, at least 1 (default 4).
        factor: milliseconds multiplied by the power (default 10,000).
        **shared: ``floor``, ``ceiling``, ``zero_override`` (see :class:`Backoff`).
    """

    def __init__(self, base: int = 4, factor: int = 10_000, **shared: Any) -> None:
        super().__init__(**shared)
        self.base = _non_negative_ms("base", base)
        if base < 1:
            raise ValidationError(f"base must be at least 1 (a smaller base shrinks), got {base}")
        self.factor = _non_negative_ms("factor", factor)

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
        return {"base": self.base, "factor": self.factor, **self.shared_parameters}


#: The backoff a task gets when none is given.
DEFAULT_BACKOFF = ExponentialBackoff()

#: ``backoff=None`` means no waiting at all.
NO_BACKOFF = ConstantBackoff(constant=0, floor=0, ceiling=0, zero_override=True)


def _algorithm(name: Any) -> type[Backoff]:
    """The subclass of :class:`Backoff` (at any depth, user subclasses included) named ``name``."""
    pending = list(Backoff.__subclasses__())
    while pending:
        cls = pending.pop(0)
        if cls.algorithm == name:
            return cls
        pending.extend(cls.__subclasses__())
    raise KeyError(f"no backoff algorithm named {name!r}")


def settings_to_backoff(settings: BackoffSettings) -> Backoff:
    """Rebuild a policy from its ``settings`` (the class is found by its ``algorithm`` name among
    every subclass of :class:`Backoff`, user subclasses included).

    Raises:
        ValidationError: if the algorithm is unknown or the parameters do not fit it.
    """
    try:
        algorithm = _algorithm(settings["algorithm"])
        return algorithm(**settings["parameters"])
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ValidationError):
            raise
        raise ValidationError(f"invalid backoff settings {settings!r}: {error}") from error


#: Alsek 1.3.2's name of :func:`settings_to_backoff`.
settings2backoff = settings_to_backoff


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
