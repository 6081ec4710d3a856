"""Tour import path for the consumer."""

from alsek.domain.services.consumer import Consumer

__all__ = ["Consumer"]
