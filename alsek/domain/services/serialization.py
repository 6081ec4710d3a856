"""Alsek 1.3.2's ``serialize()``/``deserialize()`` of tasks, brokers, status trackers and result
stores: a plain dict of the settings (the backend encoded as bytes), to hand a task to another
process (e.g. with dill) and rebuild it there with its own connections.

The format is ours: it round-trips within one version of alsek; nothing promises more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alsek.domain.model.backoff import settings_to_backoff
from alsek.ports.backend import Backend

if TYPE_CHECKING:
    from alsek.domain.services.broker import Broker
    from alsek.domain.services.result_store import ResultStore
    from alsek.domain.services.status_tracker import StatusTracker
    from alsek.domain.services.task import Task

_TASK_OPTIONS = (
    "name", "queue", "timeout", "max_retries", "mechanism", "no_positional_args", "priority",
)  # fmt: skip


def encode_backend(backend: Any) -> bytes:
    """``backend`` as bytes (see :meth:`Backend.encode`)."""
    return Backend.encode(backend)


def broker_settings(broker: Broker) -> dict[str, Any]:
    """What rebuilds ``broker``."""
    return {"backend": encode_backend(broker.backend), "dlq_ttl": broker.dlq_ttl}


def status_tracker_settings(tracker: StatusTracker) -> dict[str, Any]:
    """What rebuilds ``tracker``."""
    return {
        "backend": encode_backend(tracker.backend),
        "ttl": tracker.ttl,
        "enable_pubsub": tracker.enable_pubsub,
    }


def result_store_settings(store: ResultStore) -> dict[str, Any]:
    """What rebuilds ``store`` (its settings besides the backend are kept as they are)."""
    settings = {k: v for k, v in vars(store).items() if not k.startswith("_") and k != "backend"}
    return {"backend": encode_backend(store.backend), **settings}


def rebuilt(kind: type[Any], settings: dict[str, Any]) -> Any:
    """``kind`` built from ``settings`` whose ``backend`` is encoded."""
    return kind(Backend.from_settings(settings["backend"]), **{
        k: v for k, v in settings.items() if k != "backend"
    })  # fmt: skip


def task_data(task: Task) -> dict[str, Any]:
    """``{"task": the class, "settings": {...}}`` for ``task`` (Alsek 1.3.2's shape)."""
    settings: dict[str, Any] = {name: getattr(task, name) for name in _TASK_OPTIONS}
    settings.update(
        function=task.function,
        broker=broker_settings(task.broker),
        backoff=task.backoff.settings,
        status_tracker=None if task.status_tracker is None else {
            "kind": type(task.status_tracker),
            "settings": status_tracker_settings(task.status_tracker),
        },
        result_store=None if task.result_store is None else {
            "kind": type(task.result_store),
            "settings": result_store_settings(task.result_store),
        },
    )  # fmt: skip
    if task.is_triggered:
        settings["trigger"] = task.trigger  # type: ignore[attr-defined]
    return {"task": type(task), "settings": settings}


def task_from_data(data: dict[str, Any]) -> Task:
    """The task :func:`task_data` described (with a fresh broker and backend)."""
    from alsek.domain.services.broker import Broker

    settings = dict(data["settings"])
    settings["broker"] = rebuilt(Broker, settings["broker"])
    settings["backoff"] = settings_to_backoff(settings["backoff"])
    for part in ("status_tracker", "result_store"):
        if settings.get(part) is not None:
            settings[part] = rebuilt(settings[part]["kind"], settings[part]["settings"])
    function = settings.pop("function")
    return data["task"](function, **settings)  # type: ignore[no-any-return]
