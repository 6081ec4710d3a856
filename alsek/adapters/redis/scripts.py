"""The Lua scripts of the backend: loaded from package data, called by SHA (EVALSHA).

Each script is the sections of ``scripts/lib.lua`` it names on its first line (``--@uses: ...``,
with the sections those need, in the order of ``lib.lua``) followed by the operation's file: Redis
runs the whole text at every call, so a script carries only what it calls. A script is loaded
into Redis once (``SCRIPT LOAD`` on the first ``NOSCRIPT`` reply, e.g. after a restart) and then
called by its SHA, so a call costs one round trip and sends no source text.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from importlib import resources
from typing import Any

import redis

_pack_command: Callable[[tuple[Any, ...]], bytes] | None
try:
    from hiredis import pack_command as _pack_command
except ImportError:  # hiredis is optional: redis-py packs then
    _pack_command = None

_PACKAGE = "alsek.adapters.redis"
NAMES = (
    "submit", "claim", "ack", "ack_claim", "retry", "fail", "release", "extend", "remove", "bury",
    "poll", "submit_many", "effects", "delete_if", "repair", "stats", "requeue", "purge",
)  # fmt: skip


_SECTION = "--@ "
_USES = "--@uses:"


def _sources(names: tuple[str, ...]) -> dict[str, str]:
    """The text of ``scripts/<name>.lua`` for each name (the package's folder looked up once)."""
    folder = resources.files(_PACKAGE).joinpath("scripts")
    return {name: folder.joinpath(f"{name}.lua").read_text(encoding="utf-8") for name in names}


def _sections(lib: str) -> dict[str, tuple[list[str], str]]:
    """The sections of ``lib``, in order: name -> (the sections it needs, its text)."""
    sections: dict[str, tuple[list[str], str]] = {}
    for chunk in lib.split("\n" + _SECTION)[1:]:
        head, _, body = chunk.partition("\n")
        name, _, needs = head.partition(":")
        sections[name.strip()] = (needs.split(), body)
    return sections


def assemble(lib: str | dict[str, tuple[list[str], str]], script: str) -> str:
    """The text Redis runs for ``script``: the ``lib`` sections it uses, then its own text.

    Args:
        lib: the library's text, or its sections as :func:`_sections` parses them (parse once
            to assemble many scripts).
        script: the operation's file.

    Raises:
        ValueError: if the script does not start with a ``--@uses:`` line or names an unknown
            section.
    """
    first, _, rest = script.partition("\n")
    if not first.startswith(_USES):
        raise ValueError(f"a script must start with {_USES!r}, got {first!r}")
    sections = _sections(lib) if isinstance(lib, str) else lib
    wanted: set[str] = set()
    todo = first[len(_USES) :].split()
    while todo:
        name = todo.pop()
        if name not in wanted:
            if name not in sections:
                raise ValueError(f"unknown script section {name!r}")
            wanted.add(name)
            todo.extend(sections[name][0])
    parts = [body for name, (_, body) in sections.items() if name in wanted]
    return "\n".join([*parts, rest])


class Script:
    """One Lua script, called by SHA.

    Args:
        name: the file name under ``scripts/`` without ``.lua``.
        source: the text Redis runs (:func:`assemble`).
    """

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()


class ScriptSet:
    """Every script of the backend, run by name.

    A call is one EVALSHA, sent straight over a connection (no pool, no retry wrapper). When
    Redis does not know the script (first use on a server, or after a restart or ``SCRIPT
    FLUSH``), one pipelined round trip loads every script and repeats the call, so no later first
    use pays for a load.
    """

    def __init__(self) -> None:
        texts = _sources(("lib", *NAMES))
        lib = _sections(texts["lib"])
        self.scripts = {name: Script(name, assemble(lib, texts[name])) for name in NAMES}

    def command(self, name: str, call: Call) -> tuple[Any, ...]:
        """The EVALSHA command of script ``name`` with ``call``."""
        return ("EVALSHA", self.scripts[name].sha, len(call.keys), *call.keys, *call.args)

    def run(self, connection: Any, name: str, call: Call) -> Any:
        """Run script ``name`` with ``call``'s keys and arguments on ``connection`` (a redis-py
        connection, used by one thread at a time). A connection error is retried once, on a new
        socket.

        Raises:
            redis.exceptions.RedisError: as redis-py raises it.
        """
        command = self.command(name, call)
        try:
            return self._ask(connection, command)
        except redis.exceptions.ConnectionError:
            return self._ask(connection, command)

    def run_after(
        self, connection: Any, first: tuple[Any, ...], name: str, call: Call
    ) -> tuple[Any, Any]:
        """Send ``first`` (a blocking command such as BLPOP) and script ``name`` together: Redis
        runs the script the moment ``first`` returns, with no round trip in between.

        Returns:
            The replies of ``first`` and of the script.

        Raises:
            redis.exceptions.RedisError: the first error among the replies (both are read, so
                the connection stays in step).
        """
        connect(connection)
        send(connection, [first, self.command(name, call)])
        reply, result = read(connection, 2)
        if isinstance(result, redis.exceptions.NoScriptError) and not isinstance(reply, Exception):
            return reply, self.run(connection, name, call)
        for each in (reply, result):
            if isinstance(each, Exception):
                raise each
        return reply, result

    def run_then(
        self, connection: Any, name: str, call: Call, then: tuple[Any, ...]
    ) -> tuple[Any, Any]:
        """Send script ``name`` and the command ``then`` (e.g. WAIT) in one write; return both
        replies. ``then`` runs after the script, also when the script had to be loaded first.

        Raises:
            redis.exceptions.RedisError: the first error among the replies.
        """
        connect(connection)
        send(connection, [self.command(name, call), then])
        result, after = read(connection, 2)
        if isinstance(result, redis.exceptions.NoScriptError):
            result = self.run(connection, name, call)
            after = self._ask(connection, then)
        for each in (result, after):
            if isinstance(each, Exception):
                raise each
        return result, after

    def _ask(self, connection: Any, command: tuple[Any, ...]) -> Any:
        if getattr(connection, "_sock", None) is None:
            connection.connect()  # through the connection's own connect() (Sentinel's asks)
        try:
            connection.send_packed_command(_pack(connection, command), check_health=False)
            return connection.read_response()
        except redis.exceptions.NoScriptError:
            return self.load_and_run(connection, command)

    def load_and_run(self, connection: Any, command: tuple[Any, ...]) -> Any:
        """Load every script and run ``command``, in one round trip; return its reply."""
        loads = [("SCRIPT", "LOAD", each.source) for each in self.scripts.values()]
        return _pipelined(connection, [*loads, command])


def connect(connection: Any) -> None:
    """Connect ``connection`` if it is not: through its own ``connect()``, which for a
    Sentinel-managed connection asks Sentinel where the primary is (redis-py >= 6 connects a
    connection that sends with no socket to its default host instead)."""
    if getattr(connection, "_sock", None) is None:
        connection.connect()


def send(connection: Any, commands: list[tuple[Any, ...]]) -> None:
    """Write ``commands`` to ``connection`` at once (connected already)."""
    connection.send_packed_command(connection.pack_commands(commands), check_health=False)


def read(connection: Any, count: int) -> list[Any]:
    """Read ``count`` replies; a reply error is returned in its place, not raised, so that the
    connection stays in step (a connection error is raised: the connection is then closed)."""
    replies: list[Any] = []
    for _ in range(count):
        try:
            replies.append(connection.read_response())
        except redis.exceptions.ResponseError as error:
            replies.append(error)
    return replies


def _pack(connection: Any, command: tuple[Any, ...]) -> Any:
    """``command`` in the Redis protocol: straight through hiredis when it is installed (script
    arguments are str, bytes and int only), else through the connection's own packer."""
    if _pack_command is not None:
        return [_pack_command(command)]
    return connection.pack_command(*command)


def _pipelined(connection: Any, commands: list[tuple[Any, ...]]) -> Any:
    """Send ``commands`` in one round trip; return the last reply (raise the first error)."""
    connect(connection)
    send(connection, commands)
    replies = read(connection, len(commands))
    for reply in replies:
        if isinstance(reply, redis.exceptions.ResponseError):
            raise reply
    return replies[-1]


class Call:
    """Keys and arguments of one script call, appended in the order the script reads them.

    Args:
        now_ms: the backend clock's time. The first argument: this time, or with
            ``server_time`` an empty string, which makes the script read Redis' clock.
        server_time: whether the script takes its time from Redis (``TIME``).

    Attributes:
        now_ms: the backend clock's time, which relative times (delays) are computed from.
    """

    __slots__ = ("keys", "args", "now_ms")

    def __init__(self, now_ms: int, *, server_time: bool = False) -> None:
        self.keys: list[str] = []
        self.now_ms = now_ms
        self.args: list[Any] = ["" if server_time else now_ms]

    def key(self, *keys: str) -> Call:
        """Append keys."""
        self.keys.extend(keys)
        return self

    def arg(self, *args: Any) -> Call:
        """Append arguments (str, bytes or int)."""
        self.args.extend(args)
        return self


@functools.cache
def load_all() -> ScriptSet:
    """Every script of the backend (read from the package once, not yet sent to Redis)."""
    return ScriptSet()
