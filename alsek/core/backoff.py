"""Tour import path for backoff policies."""

from alsek.domain.model.backoff import (
    Backoff,
    ConstantBackoff,
    ExponentialBackoff,
    LinearBackoff,
    settings_to_backoff,
)

__all__ = [
    "Backoff",
    "ConstantBackoff",
    "ExponentialBackoff",
    "LinearBackoff",
    "settings_to_backoff",
]
