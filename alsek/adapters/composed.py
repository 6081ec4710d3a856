"""A :class:`Backend` composed of a key-value store and a message queue sharing one context.

An adapter provides the two components (each implements its own port) and builds them from the
backend's context: ``namespace``, ``serializer`` and ``clock``. Assigning one of the three (the
tour assigns namespaces) builds new components at once, so both always agree.

A call costs what a call on the component costs: each port method of the backend is the
component's bound method, set on the instance (no forwarding frame on the hot path). Where a
component keeps a port's default method (built from other port methods), the default runs on the
backend instead, so a subclass that overrides one method (a test double recording
``wait_for_work``) changes every default that uses it, as with inheritance. The class-level
methods forward to the same targets; they serve ``help()``, the ABC, and a subclass that
overrides a port method and calls ``super()`` (such an override is never shadowed).
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from collections.abc import Callable
from types import MethodType
from typing import Any

from alsek.adapters.clock import SystemClock
from alsek.adapters.serialization.json import JsonSerializer
from alsek.adapters.threaded_async import ThreadedAsyncBackend
from alsek.ports.admin import QueueAdmin
from alsek.ports.async_backend import AsyncBackend
from alsek.ports.backend import Backend
from alsek.ports.clock import Clock
from alsek.ports.keyvalue import KeyValueStore
from alsek.ports.queue import MessageQueue
from alsek.ports.serializer import Serializer

#: The attributes that make up a backend's context: assigning one rebuilds its components.
CONTEXT = ("namespace", "serializer", "clock")

_PORT_METHODS: dict[str, tuple[str, type]] = {}  # name -> (component attribute, its port)


def _forward(facet: str, port: type, name: str) -> Any:
    """A method calling the target resolved for ``name`` (see :meth:`ComposedBackend._target`)."""
    _PORT_METHODS[name] = (facet, port)

    @functools.wraps(getattr(port, name), updated=())  # not __dict__: __isabstractmethod__
    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self._targets[name](*args, **kwargs)

    return forward


def _to_key_value(name: str) -> Any:
    return _forward("key_value", KeyValueStore, name)


def _to_queue(name: str) -> Any:
    return _forward("message_queue", MessageQueue, name)


def _to_admin(name: str) -> Any:
    return _forward("message_queue", QueueAdmin, name)


class ComposedBackend(Backend):
    """Base of the adapters' backends: the union of a :class:`KeyValueStore` and a
    :class:`MessageQueue` built by :meth:`build_components`.

    Args:
        namespace: prefix of every stored key.
        serializer: encodes every value (default :class:`JsonSerializer`).
        clock: source of time in ms (default :class:`SystemClock`).

    Attributes:
        key_value: the key-value and pub/sub component.
        message_queue: the message queue component.
    """

    key_value: KeyValueStore
    message_queue: MessageQueue

    def __init__(
        self, namespace: str, serializer: Serializer | None = None, clock: Clock | None = None
    ) -> None:
        self._rebuild({
            "namespace": namespace,
            "serializer": serializer if serializer is not None else JsonSerializer(),
            "clock": clock if clock is not None else SystemClock(),
        })  # fmt: skip

    @abstractmethod
    def build_components(
        self, namespace: str, serializer: Serializer, clock: Clock
    ) -> tuple[KeyValueStore, MessageQueue]:
        """The two components for this context.

        Raises:
            ValidationError: if the context is not valid (e.g. an empty namespace).
        """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in CONTEXT:
            context = {key: getattr(self, key) for key in CONTEXT}
            self._rebuild({**context, name: value})
        else:
            super().__setattr__(name, value)

    def _rebuild(self, context: dict[str, Any]) -> None:
        """Build the components for ``context`` (which raises before anything changes), then
        make them this backend's."""
        key_value, queue = self.build_components(**context)
        state = self.__dict__
        state.update(context, key_value=key_value, message_queue=queue)
        state["_targets"] = targets = {
            name: self._target(state[facet], port, name)
            for name, (facet, port) in _PORT_METHODS.items()
        }
        own = type(self)
        for name, target in targets.items():
            if getattr(own, name) is getattr(ComposedBackend, name):  # not overridden
                state[name] = target

    def _target(self, component: Any, port: type, name: str) -> Callable[..., Any]:
        """What the backend's method ``name`` runs: the component's own implementation, or,
        where the component keeps the port's default (e.g. ``wait_and_claim`` as
        ``wait_for_work`` then ``claim``), that default run on the backend, so that it goes
        through the backend's methods and a subclass's overrides, as inheritance would."""
        default = getattr(port, name)
        if getattr(type(component), name) is default:
            return MethodType(default, self)
        own: Callable[..., Any] = getattr(component, name)
        return own

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self.namespace!r})"

    def to_async(self) -> AsyncBackend:
        """This backend for asyncio code: the same store, each method a coroutine (waits run in
        a worker thread; see :class:`~alsek.adapters.threaded_async.ThreadedAsyncBackend`)."""
        return ThreadedAsyncBackend(self)

    # -- key-value and pub/sub ---------------------------------------------------------------

    full_name = _to_key_value("full_name")
    short_name = _to_key_value("short_name")
    exists = _to_key_value("exists")
    set = _to_key_value("set")
    get = _to_key_value("get")
    get_many = _to_key_value("get_many")
    delete = _to_key_value("delete")
    delete_if_equal = _to_key_value("delete_if_equal")
    scan = _to_key_value("scan")
    count = _to_key_value("count")
    clear_namespace = _to_key_value("clear_namespace")
    publish = _to_key_value("publish")
    subscribe = _to_key_value("subscribe")

    # -- queue operations --------------------------------------------------------------------

    submit = _to_queue("submit")
    apply = _to_queue("apply")
    submit_many = _to_queue("submit_many")
    claim = _to_queue("claim")
    ack_many_and_claim = _to_queue("ack_many_and_claim")
    extend = _to_queue("extend")
    ack = _to_queue("ack")
    retry = _to_queue("retry")
    fail = _to_queue("fail")
    release = _to_queue("release")
    remove = _to_queue("remove")
    depth = _to_queue("depth")
    queues = _to_queue("queues")
    wait_for_work = _to_queue("wait_for_work")
    wait_and_claim = _to_queue("wait_and_claim")
    dead_letters = _to_queue("dead_letters")
    repair = _to_queue("repair")
    check_health = _to_queue("check_health")

    # -- administration ----------------------------------------------------------------------

    queue_counts = _to_admin("queue_counts")
    count_dead_letters = _to_admin("count_dead_letters")
    dead_letter_pages = _to_admin("dead_letter_pages")
    find = _to_admin("find")
    requeue_dead_letter = _to_admin("requeue_dead_letter")
    delete_dead_letters = _to_admin("delete_dead_letters")
    purge_step = _to_admin("purge_step")
