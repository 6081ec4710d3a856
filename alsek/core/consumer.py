"""Tour import path for the consumer (with its heartbeat: a message it yields stays its own
until settled)."""

from alsek.app.consumer import Consumer

__all__ = ["Consumer"]
