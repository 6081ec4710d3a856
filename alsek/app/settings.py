"""Settings: the one place (with the CLI) that reads the environment.

:class:`Settings` says where the default Redis is. :class:`WorkerSettings` says how to run a worker
pool: every field can be set by an environment variable named ``ALSEK_`` + the field in capitals
(``ALSEK_LEASE_MS=8000``, ``ALSEK_QUEUES=a,b``); explicit options win over the environment, which
wins over the defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs
from attrs import field, frozen

from alsek.domain.model.backoff import LinearBackoff
from alsek.domain.model.errors import ValidationError

REDIS_URL_VARIABLE = "ALSEK_REDIS_URL"
NAMESPACE_VARIABLE = "ALSEK_NAMESPACE"


@frozen(kw_only=True)
class Settings:
    """Where alsek finds Redis when the code does not say.

    Attributes:
        redis_url: URL of the default Redis (None: localhost:6379).
        namespace: key prefix of the default backend.
    """

    redis_url: str | None = None
    namespace: str = "alsek"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``ALSEK_REDIS_URL`` and ``ALSEK_NAMESPACE`` (from ``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        return cls(
            redis_url=env.get(REDIS_URL_VARIABLE) or None,
            namespace=env.get(NAMESPACE_VARIABLE) or "alsek",
        )


POOLS = ("thread", "process")
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
LOG_FORMATS = ("text", "json")
ENV_PREFIX = "ALSEK_"


def _positive(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
        raise ValidationError(f"{attribute.name} must be a positive integer, got {value!r}")


def _non_negative(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"{attribute.name} must be a non-negative integer, got {value!r}")


def _non_negative_or_none(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        _non_negative(instance, attribute, value)


def _upper(value: str) -> str:
    return str.upper(value)


def _lower(value: str) -> str:
    return str.lower(value)


def _one_of(choices: tuple[str, ...]) -> Any:
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if value not in choices:
            raise ValidationError(f"{attribute.name} must be one of {choices}, got {value!r}")

    return check


_TRUE, _FALSE, _AUTO = ("1", "true", "yes", "on"), ("0", "false", "no", "off"), ("", "auto")


def _pin_cpus(value: Any) -> bool | None:
    """True, False or None (automatic), from those or from their spellings in a variable."""
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    for meaning, words in ((True, _TRUE), (False, _FALSE), (None, _AUTO)):
        if word in words:
            return meaning
    choices = ", ".join(_TRUE + _FALSE + _AUTO[1:])
    raise ValidationError(f"pin_cpus must be one of {choices}, got {value!r}")


def _url(value: str | None) -> str | None:
    return value or None


def _namespace(value: str | None) -> str:
    return value or "alsek"


def _queues(value: Any) -> tuple[str, ...] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = value.split(",")
    return tuple(q.strip() for q in value if q.strip()) or None


@frozen(kw_only=True)
class WorkerSettings:
    """How to run a worker pool (all durations in milliseconds).

    Attributes:
        pool: ``"thread"`` or ``"process"``.
        target: where the tasks are (module, file, dotted path or package).
        queues: queues to consume, most preferred first (None: the tasks' queues, sorted).
        task_specific_mode: consume only those of ``queues`` that some task uses.
        n_threads: threads per process group (thread pool).
        n_processes: most process groups (thread pool) or processes (process pool); None: CPUs.
        n_process_floor: process groups always kept (thread pool).
        slot_wait_interval: how often the thread pool's supervisor looks at the load.
        prune_interval: how often the process pool's supervisor checks deadlines and children.
        max_tasks_per_child: messages one task process of the process pool runs before a fresh
            one is forked (1: a fresh process per task; 0: no limit).
        prefetch: messages each worker process claims beyond its free threads (None: the
            pool's default, ``8 × n_threads`` for the thread pool, 32 for the process pool and
            64 per process for its reuse mode).
        complete_only_on_thread_exit: keep an interrupted thread's slot until it unwinds.
        async_concurrency: ``async def`` tasks each thread pool process group runs at once on
            its event loop.
        consumer_backoff_factor: idle backoff growth per empty pass.
        consumer_backoff_floor: shortest idle backoff.
        consumer_backoff_ceiling: longest idle backoff (a submission ends any wait at once).
        lease_ms: lease of a claimed message without heartbeat (recovery time of a dead worker).
        grace_period: how long running tasks may finish after SIGTERM/SIGINT.
        start_method: ``"fork"``, ``"forkserver"`` or ``"spawn"``.
        log_level: logging level name.
        log_format: ``"text"`` (one line per record, tracebacks below) or ``"json"`` (one JSON
            object per line, for log shippers).
        log_tasks: log every run's start and success (with its run time) at INFO; failures
            and retries are logged whatever this says.
        redis_url: the Redis of tasks defined without a broker (``@task(...)``), in the
            supervisor and in every child process (None: localhost:6379).
        namespace: the key prefix of that default backend.
        unknown_task_window: how long a message of a task the pool does not know keeps being
            given back to its queue before it is failed (0: fail at once).
        metrics_port: serve Prometheus metrics on this port (None: no metrics; needs the
            ``alsek[metrics]`` extra).
        registry_heartbeat_ms: how often each worker process rewrites its worker registry
            record (its time to live is three times that); 0 keeps the pool out of the registry.
        pin_cpus: True: pin each child process that runs tasks to one CPU for good, the
            children in turn; None (default): a thread pool's busy process group, or a process
            pool's busy process reused without limit, keeps to one CPU while its work is
            interpreter-bound; False: never pin.
    """

    pool: str = field(default="thread", validator=_one_of(POOLS))
    target: str = ""
    queues: tuple[str, ...] | None = field(default=None, converter=_queues)
    task_specific_mode: bool = False
    n_threads: int = field(default=8, validator=_positive)
    n_processes: int | None = field(default=None, validator=_positive)
    n_process_floor: int = field(default=1, validator=_non_negative)
    slot_wait_interval: int = field(default=50, validator=_positive)
    prune_interval: int = field(default=100, validator=_positive)
    max_tasks_per_child: int = field(default=1, validator=_non_negative)
    prefetch: int | None = field(default=None, validator=_non_negative_or_none)
    complete_only_on_thread_exit: bool = False
    async_concurrency: int = field(default=100, validator=_positive)
    consumer_backoff_factor: int = field(default=1_000, validator=_non_negative)
    consumer_backoff_floor: int = field(default=1_000, validator=_non_negative)
    consumer_backoff_ceiling: int = field(default=10_000, validator=_non_negative)
    lease_ms: int = field(default=5_000, validator=_positive)
    grace_period: int = field(default=10_000, validator=_positive)
    start_method: str = field(default="fork", validator=_one_of(("fork", "forkserver", "spawn")))
    log_level: str = field(default="INFO", converter=_upper, validator=_one_of(LOG_LEVELS))
    log_format: str = field(default="text", converter=_lower, validator=_one_of(LOG_FORMATS))
    log_tasks: bool = False
    redis_url: str | None = field(default=None, converter=_url)
    namespace: str = field(default="alsek", converter=_namespace)
    unknown_task_window: int = field(default=300_000, validator=_non_negative)
    metrics_port: int | None = field(default=None, validator=_non_negative_or_none)
    registry_heartbeat_ms: int = field(default=2_000, validator=_non_negative)
    pin_cpus: bool | None = field(default=None, converter=_pin_cpus)

    @property
    def defaults(self) -> Settings:
        """The settings of the library's defaults (``@task(...)`` without a broker) to use."""
        return Settings(redis_url=self.redis_url, namespace=self.namespace)

    @property
    def consumer_backoff(self) -> LinearBackoff:
        """The idle consumers' backoff."""
        return LinearBackoff(
            factor=self.consumer_backoff_factor, floor=self.consumer_backoff_floor,
            ceiling=self.consumer_backoff_ceiling, zero_override=False,
        )  # fmt: skip

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> WorkerSettings:
        """Settings from ``options`` (None values ignored), then ``ALSEK_*`` variables, then
        the defaults.

        Raises:
            ValidationError: for a value of the wrong type or out of range.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for attribute in attrs.fields(cls):
            raw = environ.get(ENV_PREFIX + attribute.name.upper())
            if raw is not None:
                values[attribute.name] = _parse(attribute, raw)
        values.update({k: v for k, v in options.items() if v is not None})
        return cls(**values)


def _parse(attribute: Any, raw: str) -> Any:
    kind = attribute.default
    if isinstance(kind, bool):
        return raw.strip().lower() in _TRUE
    if isinstance(kind, int) or attribute.name in ("n_processes", "prefetch", "metrics_port"):
        try:
            return int(raw)
        except ValueError as error:
            env = ENV_PREFIX + attribute.name.upper()
            raise ValidationError(f"{env} must be an integer, got {raw!r}") from error
    return raw
