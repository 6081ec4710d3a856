"""How a :class:`~alsek.worker.feeder.Feeder` closes: the last acknowledgements are sent, and
what it buffered goes back to the queue."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from alsek.domain.model.message import Message
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.processing import Settlement
from alsek.worker.leases import release_quietly


class FeederClosing:
    """The closing side of :class:`~alsek.worker.feeder.Feeder` (its state is the feeder's)."""

    processor: MessageProcessor
    consumer: Consumer
    _cond: threading.Condition
    _buffer: deque[tuple[Message, float]]
    _acks: list[Settlement]
    _closed: bool
    _parked: bool
    _thread: threading.Thread
    wake: Callable[[], None]  # Feeder.wake

    def _take_buffer(self) -> list[Message]:
        """Empty the buffer (the caller holds the lock); the messages it held."""
        held = [message for message, _ in self._buffer]
        self._buffer.clear()
        return held

    def _close(self) -> None:
        """Send the last acknowledgements, then mark the feeder closed (executors settle their
        own from then on) and release the buffer."""
        while True:
            with self._cond:
                acks, self._acks = self._acks, []
                if not acks:
                    self._closed = True
                    held = self._take_buffer()
                    self._cond.notify_all()
                    break
            self.processor.finish_acks(acks, claim_next=0)
        release_quietly(self.consumer.backend, held)

    def close(self, timeout_s: float) -> None:
        """After ``stop`` was set: wait up to ``timeout_s`` for the feeder to send what it has
        and release its buffer. A feeder parked in ``wait_and_claim`` is not waited for (its
        buffer is released here); its blocked wait ends with the process, whose connection
        closing drops the claim queued behind it."""
        self.wake()
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive() and time.monotonic() < deadline:
            with self._cond:
                if self._parked:
                    held = self._take_buffer()
                    self._closed = True
                    self._cond.notify_all()
                    break
            self._thread.join(0.01)
        else:
            return
        release_quietly(self.consumer.backend, held)

    def pending(self) -> list[Message]:
        """The prefetched messages no executor has taken yet."""
        with self._cond:
            return [message for message, _ in self._buffer]
