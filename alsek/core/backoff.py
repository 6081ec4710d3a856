"""Tour import path for backoff policies (with Alsek 1.3.2's ``settings2backoff`` and
``BackoffSettingsType`` names)."""

from alsek.domain.model.backoff import (
    Backoff,
    ConstantBackoff,
    ExponentialBackoff,
    LinearBackoff,
    settings2backoff,
    settings_to_backoff,
)
from alsek.domain.model.backoff import BackoffSettings as BackoffSettings  # a type alias
from alsek.domain.model.backoff import BackoffSettingsType as BackoffSettingsType

__all__ = [
    "Backoff",
    "ConstantBackoff",
    "ExponentialBackoff",
    "LinearBackoff",
    "settings2backoff",
    "settings_to_backoff",
]
