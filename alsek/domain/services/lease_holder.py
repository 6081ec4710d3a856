"""Keeping the messages a consumer handed out leased until they are settled (the heartbeat of a
bare ``Consumer.stream()``).

"One, and only one, consumer can hold a message at any given time" (the tour): a message the
stream yielded stays leased to it for as long as the consumer lives, however long the caller
takes. Every tick renews the leases of the messages still held in one ``extend`` call; a message
``extend`` reports as no longer leased was settled (acknowledged, retried, failed, released or
removed) and is forgotten. When the stream ends or the consumer is closed, the ticks stop and the
leases of unsettled messages lapse, so those messages run elsewhere a lease later.
"""

from __future__ import annotations

import logging

from alsek.domain.model.errors import BackendError
from alsek.domain.model.message import Message
from alsek.ports.queue import MessageQueue
from alsek.ports.ticker import Ticker, Ticking

log = logging.getLogger("alsek.consumer")


class LeaseHolder:
    """The messages one stream handed out and that are not settled yet, kept leased by ticks.

    Args:
        backend: where the leases live.
        lease_ms: the lease each tick grants.
        ticker: runs the ticks, every fifth of the lease.
    """

    def __init__(self, backend: MessageQueue, lease_ms: int, ticker: Ticker) -> None:
        self.backend = backend
        self.lease_ms = lease_ms
        self._held: dict[str, Message] = {}
        self._ticking: Ticking | None = None
        self._ticker = ticker
        self._failing = False

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, message: Message) -> None:
        """Keep ``message`` leased until it is settled (ticks start with the first message)."""
        self._held[str(message.uuid)] = message
        if self._ticking is None:
            self._ticking = self._ticker.start(
                max(self.lease_ms // 5, 10), self.tick, name="alsek-consumer-heartbeat"
            )

    def tick(self) -> None:
        """Renew the leases of the messages still held; forget those that were settled."""
        held = list(self._held.copy().values())  # dict.copy is atomic: hold() may run meanwhile
        if not held:
            return
        try:
            settled = self.backend.extend(held, lease_ms=self.lease_ms)
        except BackendError as error:
            if not self._failing:
                log.warning("Consumer heartbeat failed (%s); leases may lapse.", error)
            self._failing = True
            return
        self._failing = False
        for message in settled:
            if self._held.get(str(message.uuid)) is message:
                self._held.pop(str(message.uuid), None)

    def close(self) -> None:
        """Stop the ticks; unsettled messages keep their lease until it lapses."""
        if self._ticking is not None:
            self._ticking.stop()
            self._ticking = None
        self._held.clear()
