"""The consumer: leases messages from a broker's backend, in queue order, as they become ready.

Queue order is the order of ``queues`` (the CLI's ``-qu``), else alphabetical. Within a queue the
backend hands out messages by priority, then first in first out. An idle consumer does not poll:
it blocks on :meth:`MessageQueue.wait_for_work` until a submission wakes it, bounded by the next due
delayed message or lease (``Claim.next_due_ms``) and by its backoff (``LinearBackoff`` by default),
which grows with each pass that finds nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterator, Sequence
from typing import Any, Protocol

from alsek.domain.model.backoff import Backoff, LinearBackoff
from alsek.domain.model.effects import Effects
from alsek.domain.model.errors import BackendError, ValidationError
from alsek.domain.model.message import Message
from alsek.domain.services.broker import Broker
from alsek.domain.services.consumer_subset import Subset, queues_and_tasks
from alsek.domain.services.lease_holder import LeaseHolder
from alsek.ports.queue import Claim, MessageQueue
from alsek.ports.ticker import Ticker

log = logging.getLogger("alsek.consumer")

#: How long a claimed message stays invisible to other consumers without a heartbeat (ms).
DEFAULT_LEASE_MS = 5_000

#: How long an idle consumer waits between passes, by number of empty passes (ms).
DEFAULT_CONSUMER_BACKOFF = LinearBackoff(
    factor=1_000, floor=1_000, ceiling=10_000, zero_override=False
)

#: Back off after a backend connection error: first wait, and the longest wait (ms).
RECONNECT_FLOOR_MS = 100
RECONNECT_CEILING_MS = 2_000


class StopSignal(Protocol):
    """What a consumer checks to know it should stop (``threading.Event`` fits)."""

    def is_set(self) -> bool:
        """Whether stopping was requested."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the request; return whether it was made."""
        ...


class _NeverStop:
    """The stop signal of a consumer nobody stops: waiting is sleeping."""

    def is_set(self) -> bool:
        return False

    def wait(self, timeout: float | None = None) -> bool:
        time.sleep(timeout or 0)
        return False


class Consumer:
    """Leases messages from ``broker``'s backend.

    Args:
        broker: whose backend to consume.
        queues: the queues to consume, most preferred first (a list or a comma-separated string),
            or Alsek 1.3.2's subset form ``{queue: [task names]}`` (those queues, and only
            messages of those tasks); None: every queue the backend knows, alphabetically
            (looked up again after each pass that finds nothing).
        backoff: how long to wait after passes that find nothing, by number of such passes
            (milliseconds; a new submission ends the wait at once).
        subset: Alsek 1.3.2's name for ``queues`` (give one or the other).
        lease_ms: how long a claimed message stays leased without a heartbeat.
        stop_signal: ends :meth:`stream` and the waits when set (default: never).
        tasks: consume only messages of these tasks; other tasks' messages stay in the queues,
            untouched, for their own consumers (default: every task).
        ticker: keeps the messages :meth:`stream` yielded leased until they are settled (see
            :class:`~alsek.domain.services.lease_holder.LeaseHolder`); None: no heartbeat (the
            worker pools renew leases themselves). ``alsek.core.consumer.Consumer`` gives one.
    """

    def __init__(
        self,
        broker: Broker,
        queues: Subset | None = None,
        backoff: Backoff | None = None,
        subset: Subset | None = None,
        *,
        lease_ms: int = DEFAULT_LEASE_MS,
        stop_signal: StopSignal | None = None,
        tasks: Collection[str] | None = None,
        ticker: Ticker | None = None,
    ) -> None:
        if not isinstance(lease_ms, int) or lease_ms <= 0:
            raise ValidationError(f"lease_ms must be a positive integer (ms), got {lease_ms!r}")
        self.broker = broker
        self.backend: MessageQueue = broker.backend
        self._queues, self.tasks = queues_and_tasks(queues, subset, tasks)
        # Passed to the backend only when set: an unfiltered claim is the port's plain call.
        self._filter: dict[str, Any] = {} if self.tasks is None else {"tasks": self.tasks}
        self.backoff = DEFAULT_CONSUMER_BACKOFF if backoff is None else backoff
        self.lease_ms = lease_ms
        self.stop_signal: StopSignal = stop_signal or _NeverStop()
        self.ticker = ticker
        self._holders: list[LeaseHolder] = []
        self._empty_passes = 0
        self._next_due_ms: int | None = None
        self._errors = 0
        self._outage_began = 0.0
        self._all_queues: Sequence[str] | None = None
        self._broken: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Consumer(broker={self.broker!r}, queues={self._queues!r})"

    @property
    def queues(self) -> Sequence[str]:
        """The queues consumed, in order of preference."""
        if self._queues is not None:
            return self._queues
        if self._all_queues is None:  # looked up again after every pass that found nothing
            self._all_queues = self.backend.queues()
        return self._all_queues

    # -- claiming ----------------------------------------------------------------------------

    def claim(self, limit: int = 1) -> list[Message]:
        """Lease up to ``limit`` ready messages, best first ([] when there are none).

        A backend error (Redis down, or garbage of the wrong type in a queue's keys) is logged and
        answered with a growing pause, so callers can simply call again; it never propagates.
        """
        try:
            claim = self.backend.claim(
                self.queues, limit=limit, lease_ms=self.lease_ms, **self._filter
            )
        except BackendError as error:
            self.pause_after_error(error)
            return []
        return self._record(claim)

    def ack_many_and_claim(
        self, acks: Sequence[tuple[Message, Effects]], limit: int = 1
    ) -> list[Message]:
        """Acknowledge every ``(message, effects)`` of ``acks`` and lease up to ``limit`` more,
        in one step (an empty ``acks`` is a plain claim).

        Raises:
            BackendConnectionError: if the backend could not be reached; whether the acks
                happened is unknown, so the caller retries them (acks are idempotent).
        """
        claim = self.backend.ack_many_and_claim(
            acks, queues=self.queues, limit=limit, lease_ms=self.lease_ms, **self._filter
        )
        return self._record(claim, leased=limit > 0)

    def _record(self, claim: Claim, leased: bool = True) -> list[Message]:
        """Note what a claim reply says; ``leased``: it tried to lease (an acknowledgement-only
        reply does not read the ready sets, so it says nothing about damaged queues)."""
        if self._errors:
            log.warning("Backend reconnected after %.1f s (%s failed attempt(s)).",
                        time.monotonic() - self._outage_began, self._errors)  # fmt: skip
            self._errors = 0
        for name in claim.corrupt:
            log.error("Skipped unreadable message %r (kept in the dead letter queue).", name)
        if leased and (claim.broken or self._broken):
            self._note_broken(claim.broken)
        if claim.lost:
            log.warning("Acknowledgements of %s not applied: their leases lapsed and other "
                        "consumers run them now.", ", ".join(m.summary for m in claim.lost))  # fmt: skip
        self._next_due_ms = claim.next_due_ms
        self._empty_passes = 0 if claim.messages else self._empty_passes + 1
        if not claim.messages:
            self._all_queues = None
        return claim.messages

    def _note_broken(self, broken: dict[str, str]) -> None:
        """Log each queue skipped for damaged keys once (an error), and once when it is served
        again."""
        for queue, error in broken.items():
            if queue not in self._broken:
                log.error("Skipping queue %r: %s. The other queues are served; fix or delete "
                          "the damaged key.", queue, error)  # fmt: skip
        for queue in self._broken.keys() - broken.keys():
            log.info("Queue %r is served again.", queue)
        self._broken = dict(broken)

    # -- waiting -----------------------------------------------------------------------------

    def idle_timeout_ms(self) -> int:
        """How long the next idle wait may last: the backoff, cut short by the next due item."""
        timeout = self.backoff.get(max(self._empty_passes, 1))
        if self._next_due_ms is not None:
            timeout = min(timeout, max(self._next_due_ms - self.backend.clock.now_ms(), 0))
        return timeout

    def wait_for_work(self) -> bool:
        """Block until a submission may have made work, the next item falls due, the backoff
        passes or the stop signal is set. Returns whether it was woken by a submission."""
        if self.stop_signal.is_set():
            return False
        timeout = self.idle_timeout_ms()
        if timeout <= 0:
            return True
        try:
            return self.backend.wait_for_work(self.queues, timeout, **self._filter)
        except BackendError as error:
            self.pause_after_error(error)
            return False

    def wait_and_claim(self, limit: int = 1) -> list[Message]:
        """:meth:`wait_for_work`, then lease up to ``limit`` messages; the backend may send both
        at once, so that a submission reaches an idle consumer in a single round trip.

        Errors are logged and answered with a pause, as in :meth:`claim`.
        """
        if self.stop_signal.is_set():
            return []
        timeout = self.idle_timeout_ms()
        if timeout <= 0:
            return self.claim(limit)
        try:
            claim = self.backend.wait_and_claim(
                self.queues, timeout_ms=timeout, limit=limit, lease_ms=self.lease_ms,
                **self._filter,
            )  # fmt: skip
        except BackendError as error:
            self.pause_after_error(error)
            return []
        return self._record(claim)

    def pause_after_error(self, error: BaseException) -> None:
        """Log a backend error and wait before the next attempt, longer each time in a row. The
        first of a series is a warning ("unavailable"), the others are debug lines, and the
        next call that works says "reconnected" (see :meth:`_record`), so an outage is two
        lines, however long it lasts."""
        self._errors += 1
        pause = min(RECONNECT_FLOOR_MS * 2 ** min(self._errors - 1, 16), RECONNECT_CEILING_MS)
        if self._errors == 1:
            self._outage_began = time.monotonic()
            log.warning("Backend unavailable (%s); retrying every %s-%s ms until it is back.",
                        error, RECONNECT_FLOOR_MS, RECONNECT_CEILING_MS)  # fmt: skip
        else:
            log.debug("Backend still unavailable (%s); retrying in %s ms.", error, pause)
        self.stop_signal.wait(pause / 1000)

    # -- streaming ---------------------------------------------------------------------------

    def stream(self) -> Iterator[Message]:
        """Yield leased messages one at a time, in queue, priority and submission order, waiting
        (without polling) whenever nothing is ready. Ends when the stop signal is set.

        With a ``ticker`` (``alsek.core.consumer.Consumer`` has one), a message yielded stays
        leased to this consumer until it is settled through the broker (``ack``, ``retry``,
        ``fail``, ``remove``), for as long as the stream and the consumer live; after that its
        lease lapses within ``lease_ms`` and it is delivered again. Without one, settle it
        within ``lease_ms`` or it is delivered again.
        """
        holder = (
            None if self.ticker is None else LeaseHolder(self.backend, self.lease_ms, self.ticker)
        )
        if holder is not None:
            self._holders.append(holder)
        try:
            while not self.stop_signal.is_set():
                messages = self.claim(limit=1)
                if not messages:
                    self.wait_for_work()
                for message in messages:
                    if holder is not None:
                        holder.hold(message)
                    yield message
        finally:
            if holder is not None:
                holder.close()
                self._holders.remove(holder)

    def close(self) -> None:
        """Stop the heartbeats of this consumer's streams (their unsettled messages' leases
        lapse within ``lease_ms``); idempotent."""
        for holder in list(self._holders):
            holder.close()

    def __del__(self) -> None:
        for holder in getattr(self, "_holders", ()):
            holder.close()
