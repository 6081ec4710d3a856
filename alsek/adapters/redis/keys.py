"""The Redis key layout: short names <-> stored keys, queue index keys and index members.

Short names keep the tour's shape (``queues:<q>:tasks:<t>:messages:<uuid>``). A stored key adds the
namespace and, for names under ``queues:<q>`` (and the dead letter queue ``dtq:queues:<q>``), wraps
the queue segment in a Redis Cluster hash tag so that every key of one queue lives in one slot::

    queues:q:tasks:t:messages:u      ->  alsek:queues:{q}:tasks:t:messages:u
    dtq:queues:q:tasks:t:messages:u  ->  alsek:dtq:queues:{q}:tasks:t:messages:u
    results:u                        ->  alsek:results:u

Per queue indexes live outside the ``queues:`` prefix, under the same hash tag
(``alsek:idx:{q}:<index>``): ``slots`` (hash, uuid -> ``<ready score>|<task>``), ``ready`` (zset,
score: priority * 2**32 + sequence), ``delayed`` (zset, score: ready_at), ``leased`` (zset, score:
lease expiry), ``seq`` (counter), ``signal`` (list of wake-up tokens). The members of the zsets are
``<uuid>|<task>``: what a script needs to rebuild the body key, and what any holder of the
:class:`Message` can name. ``alsek:idx:queues`` is the set of queue names; on a Redis Cluster,
where a script may not touch a key outside its queue's slot, each queue keeps its name in a set of
its own instead (``alsek:idx:{q}:queues``; see :meth:`KeyLayout.for_cluster`). ``scan`` hides
``idx:``.
"""

from __future__ import annotations

import re

from attrs import frozen

from alsek.adapters.codec import check_namespace
from alsek.domain.model import naming
from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message

_QUEUE_PREFIXES = ("queues:", "dtq:queues:")
_GLOB = re.compile(r"([*?\[\]\\])")


def escape_glob(text: str) -> str:
    """``text`` with the glob characters of a SCAN pattern escaped."""
    return _GLOB.sub(r"\\\1", text)


def member(message: Message) -> str:
    """The index member of ``message``: ``<uuid>|<task>``."""
    return f"{message.uuid}|{message.task_name}"


def split_member(index_member: str) -> tuple[str, str]:
    """``(uuid, task)`` of an index member (task names cannot hold ``|``; uuids may)."""
    uuid, _, task = index_member.rpartition("|")
    return uuid, task


@frozen
class QueueKeys:
    """The stored keys of one queue's indexes and the prefixes of its bodies."""

    slots: str
    ready: str
    delayed: str
    leased: str
    seq: str
    signal: str
    bodies: str  # "<ns>:queues:{q}:tasks:" ; body = bodies + task + ":messages:" + uuid
    dead: str  # "<ns>:dtq:queues:{q}:tasks:"


class KeyLayout:
    """Maps short names to stored keys for one namespace.

    Args:
        namespace: the prefix of every key; see :func:`~alsek.adapters.codec.check_namespace`
            (no ``:``, glob characters or braces; not empty).
        per_queue_sets: name each queue in a set of its own slot (a cluster) instead of in one
            set of every queue name.
    """

    def __init__(self, namespace: str, *, per_queue_sets: bool = False) -> None:
        self.namespace = check_namespace(namespace)
        self._prefix = namespace + ":"
        self.queue_set = f"{namespace}:idx:queues"
        self.internal = f"{namespace}:idx:"
        self.per_queue_sets = per_queue_sets
        self._queues: dict[str, QueueKeys] = {}

    def for_cluster(self) -> KeyLayout:
        """The same layout, with each queue's name kept in its own slot."""
        return KeyLayout(self.namespace, per_queue_sets=True)

    def queue_set_of(self, queue: str) -> str:
        """The set that names ``queue`` (written by the queue's first submission)."""
        if self.per_queue_sets:
            return f"{self._prefix}idx:{{{queue}}}:queues"
        return self.queue_set

    def queue_sets_pattern(self) -> str:
        """A SCAN pattern of every per-queue name set (see :meth:`queue_set_of`)."""
        return f"{escape_glob(self._prefix)}idx:{{*}}:queues"

    # -- names -------------------------------------------------------------------------------

    def full_name(self, name: str) -> str:
        """The stored key of the short ``name``."""
        for head in _QUEUE_PREFIXES:
            if name.startswith(head):
                queue, sep, rest = name[len(head) :].partition(":")
                if queue:
                    return f"{self._prefix}{head}{{{queue}}}{sep}{rest}"
        return self._prefix + name

    def short_name(self, key: str | bytes) -> str:
        """The short name of a stored ``key`` (the inverse of :meth:`full_name`)."""
        if isinstance(key, bytes):
            key = key.decode("utf-8", "replace")
        name = key[len(self._prefix) :] if key.startswith(self._prefix) else key
        for head in _QUEUE_PREFIXES:
            if name.startswith(head + "{"):
                queue, sep, rest = name[len(head) + 1 :].partition("}")
                if sep:
                    return f"{head}{queue}{rest}"
        return name

    def pattern(self, prefix: str | None) -> str:
        """A SCAN ``MATCH`` pattern for short names starting with the glob ``prefix``.

        ``queues:<q>`` (with or without more after it) matches exactly that queue's keys, not
        those of ``<q>2``: the closing brace of the hash tag ends the queue segment.
        """
        base = escape_glob(self._prefix)
        if not prefix:
            return base + "*"
        for head in _QUEUE_PREFIXES:
            if prefix.startswith(head) and len(prefix) > len(head):
                queue, sep, rest = prefix[len(head) :].partition(":")
                return f"{base}{head}{{{queue}}}{sep}{rest}*"
        return base + prefix + "*"

    # -- queues ------------------------------------------------------------------------------

    def queue(self, queue: str) -> QueueKeys:
        """The index keys and body prefixes of ``queue``.

        Raises:
            ValidationError: if ``queue`` is empty or holds a brace.
        """
        found = self._queues.get(queue)
        if found is None:
            found = self._queues[queue] = self._queue(queue)
        return found

    def _queue(self, queue: str) -> QueueKeys:
        if not isinstance(queue, str) or not queue or set("{}") & set(queue):
            raise ValidationError(f"not a valid queue name: {queue!r}")
        idx = f"{self._prefix}idx:{{{queue}}}:"
        return QueueKeys(
            slots=idx + "slots",
            ready=idx + "ready",
            delayed=idx + "delayed",
            leased=idx + "leased",
            seq=idx + "seq",
            signal=idx + "signal",
            bodies=f"{self._prefix}queues:{{{queue}}}:tasks:",
            dead=f"{self._prefix}dtq:queues:{{{queue}}}:tasks:",
        )

    def body(self, message: Message) -> str:
        """The stored key of ``message``'s body."""
        return self.full_name(naming.message_name(message))

    def dead_letter(self, message: Message) -> str:
        """The stored key of ``message`` in the dead letter queue."""
        return self.full_name(naming.dlq_name(message))

    def body_of_member(self, queue: str, index_member: str) -> str:
        """The stored body key that the index member of ``queue`` points at."""
        uuid, task = split_member(index_member)
        return f"{self.queue(queue).bodies}{task}:messages:{uuid}"
