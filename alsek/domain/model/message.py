"""The message: what a task run needs, persisted by the broker and understood everywhere."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, cast

import attrs
from attrs import define, field

from alsek.domain.model import defaults
from alsek.domain.model import message_fields as fields
from alsek.domain.model.backoff import (
    ExponentialBackoff,
    check_backoff_settings,
    settings_to_backoff,
)
from alsek.domain.model.errors import ValidationError
from alsek.domain.model.lock_record import release_owned
from alsek.domain.model.naming import validate_queue_name, validate_task_name, validate_uuid
from alsek.domain.model.priority import validate_priority

_DEFAULT_BACKOFF_SETTINGS = ExponentialBackoff().settings
_set = object.__setattr__


def _default_backoff_settings() -> dict[str, Any]:
    """A copy of the default policy's settings (flat parameters: no deep copy needed)."""
    return {
        **_DEFAULT_BACKOFF_SETTINGS,
        "parameters": dict(_DEFAULT_BACKOFF_SETTINGS["parameters"]),
    }


@define(eq=False, repr=False)
class Message:
    """One unit of work for a task.

    Args:
        task_name: name of the task that runs this message.
        queue: the queue it waits in (default ``"alsek_queue"``).
        args: positional arguments for the task's function.
        kwargs: keyword arguments for the task's function.
        priority: lower integers run first within a queue; equal priorities run in order.
        metadata: user data carried along (must suit the serializer).
        exception_details: ``{"name", "text", "traceback"}`` of the last failure, if any.
        result_ttl: how long the result is kept, in milliseconds (None: the result store's
            ``default_ttl``, a week unless the store says otherwise).
        uuid: the message id (generated when omitted).
        progenitor_uuid: the message this one descends from (trigger runs, callbacks).
        retries: how many times it has been retried.
        timeout: the longest a run may take, in milliseconds.
        created_at: creation time, ms since the epoch (now when omitted).
        updated_at: last update time, ms since the epoch (``created_at`` when omitted).
        delay: milliseconds after ``created_at`` before the first run.
        previous_result: the result of the message this one is a callback of.
        previous_message_uuid: the uuid of that message.
        callback_message_data: ``data`` of the message to submit when this one succeeds.
        backoff_settings: the retry backoff policy, as ``Backoff.settings``.
        mechanism: ``"process"`` or ``"thread"``.
        linked_lock: ``{"name", "owner_id"}`` of a lock linked with :meth:`link_lock`, released
            when the message is settled through the broker (not shown in the repr).

    Attributes:
        lease_token: the owner token of the lease under which this copy was claimed (None: not
            claimed). Set by the backend's claim, carried by every call that ends or renews the
            lease; not part of :attr:`data`, of equality or of copies made by :meth:`clone`.
    """

    task_name: str
    queue: str | None = None
    args: tuple[Any, ...] = field(default=None, converter=fields.to_tuple)
    kwargs: dict[str, Any] = field(default=None, converter=fields.to_dict)
    priority: int = 0
    metadata: dict[str, Any] | None = None
    exception_details: dict[str, Any] | None = field(default=None, converter=fields.details)
    result_ttl: int | None = None
    uuid: str | None = None
    progenitor_uuid: str | None = None
    retries: int = 0
    timeout: int = defaults.DEFAULT_TASK_TIMEOUT_MS
    created_at: int | None = None
    updated_at: int | None = None
    delay: int | None = 0
    previous_result: Any = None
    previous_message_uuid: str | None = None
    callback_message_data: dict[str, Any] | None = field(
        default=None, converter=fields.plain_callback
    )
    backoff_settings: dict[str, Any] | None = None
    mechanism: str = defaults.DEFAULT_MECHANISM
    linked_lock: dict[str, Any] | None = field(default=None, converter=fields.linked_lock)
    lease_token: str | None = field(default=None, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # Values set here are normalised already: skip attrs' on-setattr hooks (hot path).
        _set(self, "queue", validate_queue_name(self.queue or defaults.DEFAULT_QUEUE))
        validate_task_name(self.task_name)
        validate_priority(self.priority)
        if not self.uuid:
            _set(self, "uuid", defaults.new_uuid())
        else:
            validate_uuid(self.uuid)
        if self.created_at is None:
            _set(self, "created_at", self.updated_at or defaults.now_ms())
        else:
            fields.non_negative_int("created_at", self.created_at)
        if self.updated_at is None:
            _set(self, "updated_at", self.created_at)
        else:
            fields.non_negative_int("updated_at", self.updated_at)
        _set(self, "delay", fields.non_negative_int("delay", self.delay or 0))
        fields.non_negative_int("retries", self.retries)
        if self.result_ttl is not None:
            fields.non_negative_int("result_ttl", self.result_ttl)
        if fields.non_negative_int("timeout", self.timeout) == 0:
            raise ValidationError("timeout must be positive (ms), got 0")
        if self.mechanism not in defaults.MECHANISMS:
            raise ValidationError(
                f"mechanism must be one of {defaults.MECHANISMS}, got {self.mechanism!r}"
            )
        if self.backoff_settings is None:
            _set(self, "backoff_settings", _default_backoff_settings())
        else:  # a bad policy would only show when a failure is settled: refuse it now
            check_backoff_settings(self.backoff_settings)

    # -- persistence -------------------------------------------------------------------------

    @property
    def data(self) -> dict[str, Any]:
        """Everything the broker persists, as plain values (the inverse of :meth:`from_data`).

        Sequences are lists, as a serializer gives them back.
        """
        return {
            "task_name": self.task_name,
            "queue": self.queue,
            "args": list(self.args),
            "kwargs": self.kwargs,
            "priority": self.priority,
            "metadata": self.metadata,
            "exception_details": self.exception_details,
            "result_ttl": self.result_ttl,
            "uuid": self.uuid,
            "progenitor_uuid": self.progenitor_uuid,
            "retries": self.retries,
            "timeout": self.timeout,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "delay": self.delay,
            "previous_result": self.previous_result,
            "previous_message_uuid": self.previous_message_uuid,
            "callback_message_data": self.callback_message_data,
            "backoff_settings": self.backoff_settings,
            "mechanism": self.mechanism,
            "linked_lock": self.linked_lock,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Message:
        """Rebuild a message from :attr:`data` (unknown keys are rejected).

        Raises:
            ValidationError: if ``data`` is not a valid message.
        """
        try:
            if type(data) is dict and data.keys() == _STORED_NAMES:
                return cls._from_stored(data)
            return cls(**data)
        except TypeError as error:
            raise ValidationError(f"not a valid message: {error}") from error

    @classmethod
    def _from_stored(cls, data: dict[str, Any]) -> Message:
        """:meth:`from_data` for a mapping holding every field, as :attr:`data` writes it (what
        a worker decodes for each message it claims): the same converters and checks as the
        constructor, without the keyword call and the on-setattr hooks (about half the cost)."""
        message = object.__new__(cls)
        for name, convert in _STORED_FIELDS:
            value = data[name]
            _set(message, name, value if convert is None else convert(value))
        _set(message, "lease_token", None)
        message.__attrs_post_init__()
        return message

    # -- time --------------------------------------------------------------------------------

    @property
    def ready_at(self) -> int:
        """When the message may run next, in ms since the epoch.

        A new message waits ``delay`` after ``created_at``; a retried one waits its backoff
        (by number of incidents) after ``updated_at``, the time it was retried.
        """
        assert self.created_at is not None and self.updated_at is not None
        if self.retries == 0:
            return self.created_at + (self.delay or 0)
        return self.updated_at + self.backoff_duration()

    def backoff_duration(self) -> int:
        """The backoff in milliseconds for the current number of incidents (``retries``)."""
        return settings_to_backoff(self.backoff_settings or {}).get(self.retries)

    def get_backoff_duration(self) -> int:
        """Alsek 1.3.2's name of :meth:`backoff_duration`."""
        return self.backoff_duration()

    def is_ready(self, now_ms: int) -> bool:
        """Whether the message may run at ``now_ms``."""
        return self.ready_at <= now_ms

    def time_to_ready(self, now_ms: int) -> int:
        """Milliseconds from ``now_ms`` until the message may run (0 when ready)."""
        return max(self.ready_at - now_ms, 0)

    @property
    def ready(self) -> bool:
        """Whether the message may run now."""
        return self.is_ready(defaults.now_ms())

    @property
    def ttr(self) -> int:
        """Time to ready: milliseconds until the message may run (0 when ready)."""
        return self.time_to_ready(defaults.now_ms())

    # -- callbacks ---------------------------------------------------------------------------

    @property
    def descendant_uuids(self) -> list[str] | None:
        """The uuids of every callback message chained after this one, or None."""
        uuids = fields.callback_uuids(self.callback_message_data)
        return uuids or None

    # -- mutation ----------------------------------------------------------------------------

    def update(self, **changes: Any) -> Message:
        """Set fields in place and return the message.

        Raises:
            KeyError: for a name that is not a message field.
        """
        for name, value in changes.items():
            if name not in fields.FIELDS:
                raise KeyError(f"Unsupported key '{name}'")
            setattr(self, name, value)
        self.__attrs_post_init__()  # the same checks as at construction
        return self

    def clone(self) -> Message:
        """An independent copy of this message."""
        return Message.from_data(copy.deepcopy(self.data))

    def duplicate(self, uuid: str | None = None) -> Message:
        """A copy of this message under a new uuid (without a linked lock)."""
        return self.clone().update(uuid=uuid or defaults.new_uuid(), linked_lock=None)

    def increment_retries(self, now_ms: int | None = None) -> Message:
        """Count one more retry and stamp ``updated_at`` (in place)."""
        self.retries += 1
        self.updated_at = defaults.now_ms() if now_ms is None else now_ms
        return self

    def add_to_metadata(self, **data: Any) -> Message:
        """Merge ``data`` into ``metadata`` (in place; nested dicts are merged, as 1.3.2)."""
        if not data:
            raise ValidationError("add_to_metadata() needs at least one key")
        self.metadata = fields.merged(self.metadata or {}, data)
        return self

    # -- linked locks (Alsek 1.3.2) ------------------------------------------------------------

    def link_lock(self, lock: Any, override: bool = False) -> Message:
        """Link ``lock`` (its name and owner) to this message, to be released when the message
        is settled through the broker (acknowledged, retried, failed or removed).

        Raises:
            AttributeError: if a lock is linked already and not ``override``.
        """
        if self.linked_lock is not None and not override:
            raise AttributeError(f"{self.summary} has a linked lock already: {self.linked_lock}")
        self.linked_lock = {"name": lock.name, "owner_id": lock.owner_id}
        return self

    def release_lock(self, not_linked_ok: bool, target_backend: Any) -> bool:
        """Release the linked lock on ``target_backend`` (as its owner) and unlink it.

        Returns:
            Whether the lock was released (False: nothing linked and ``not_linked_ok``, or the
            lock was not held any more).

        Raises:
            AttributeError: if nothing is linked and not ``not_linked_ok``.
        """
        if self.linked_lock is None:
            if not_linked_ok:
                return False
            raise AttributeError(f"{self.summary} has no linked lock")
        released = release_owned(
            target_backend, self.linked_lock["name"], self.linked_lock["owner_id"]
        )
        self.linked_lock = None
        return released

    # -- display -----------------------------------------------------------------------------

    @property
    def summary(self) -> str:
        """A one-line description: uuid, queue and task."""
        return f"Message(uuid={self.uuid!r}, queue={self.queue!r}, task={self.task_name!r})"

    def __repr__(self) -> str:
        data = {**self.data, "args": self.args}
        for name in ("created_at", "updated_at"):
            data[name] = fields.format_ms(data[name])
        body = "".join(f"    {name}={data[name]!r},\n" for name in fields.REPR_ORDER)
        return f"Message(\n{body})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and self.data == other.data

    __hash__ = None  # type: ignore[assignment]


#: Every field the constructor takes, with its converter (None: none), in declaration order.
_STORED_FIELDS: tuple[tuple[str, Callable[[Any], Any] | None], ...] = tuple(
    (a.name, cast("Callable[[Any], Any] | None", a.converter))
    for a in attrs.fields(Message)
    if a.init
)
_STORED_NAMES = frozenset(name for name, _ in _STORED_FIELDS)
