"""Tour import path for messages."""

from alsek.domain.model.message import Message

__all__ = ["Message"]
