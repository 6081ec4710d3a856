"""Alsek 1.3.2's ``alsek.types`` (re-exports only). ``Empty`` is the "no default" marker of
``Backend.get(name, default=Empty)``: a missing name raises ``KeyError``."""

from alsek.domain.model.defaults import SUPPORTED_MECHANISMS
from alsek.domain.model.defaults import SupportedMechanismType as SupportedMechanismType
from alsek.ports.keyvalue import MISSING as Empty  # noqa: N811 - Alsek 1.3.2's name

__all__ = ["SUPPORTED_MECHANISMS", "Empty"]  # and the type alias SupportedMechanismType
