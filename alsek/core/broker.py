"""Tour import path for the broker."""

from alsek.domain.services.broker import Broker

__all__ = ["Broker"]
