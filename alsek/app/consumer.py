"""The consumer as the tour imports it: the domain's consumer with a heartbeat thread, so that a
message :meth:`~alsek.domain.services.consumer.Consumer.stream` yields stays its own until it is
settled ("one, and only one, consumer can hold a message at any given time")."""

from __future__ import annotations

from typing import Any

from alsek.adapters.ticker import ThreadTicker
from alsek.domain.services.broker import Broker
from alsek.domain.services.consumer import Consumer as LeasingConsumer
from alsek.ports.ticker import Ticker


class Consumer(LeasingConsumer):
    """Leases messages from ``broker``'s backend and keeps the ones it yields leased until they
    are settled (a heartbeat thread, started by the first message :meth:`stream` yields, renews
    their leases every fifth of ``lease_ms``).

    Args:
        broker: whose backend to consume.
        *args: as for :class:`alsek.domain.services.consumer.Consumer` (``queues`` or
            ``subset``, ``backoff``).
        ticker: what runs the heartbeat (default: a daemon thread per stream).
        **kwargs: as for :class:`alsek.domain.services.consumer.Consumer` (``lease_ms``,
            ``stop_signal``, ``tasks``).
    """

    def __init__(
        self, broker: Broker, *args: Any, ticker: Ticker | None = None, **kwargs: Any
    ) -> None:
        super().__init__(
            broker, *args, ticker=ThreadTicker() if ticker is None else ticker, **kwargs
        )
