"""What the admin commands share: the backend they talk to, their exit codes, tables, JSON and
durations."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from alsek.app.services.connection import admin_backend
from alsek.domain.model.errors import BackendConnectionError, BackendError, ValidationError
from alsek.ports.backend import Backend

#: Exit codes of the admin commands.
EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_BACKEND = 0, 1, 2, 4

EXIT_CODES = (
    "Exit codes: 0 done, 1 not found or nothing matched, 2 bad usage, 4 Redis unreachable or unfit."
)

_UNITS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)?\s*$")


def parse_duration_ms(text: str) -> int:
    """``"90"`` (ms), ``"30s"``, ``"10m"``, ``"2h"`` or ``"7d"`` in milliseconds.

    Raises:
        ValueError: for anything else.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (e.g. 500, 30s, 10m, 2h, 7d)")
    return int(match.group(1)) * _UNITS[match.group(2) or "ms"]


def format_duration_ms(ms: int | None) -> str:
    """``ms`` for people: ``"850 ms"``, ``"12.5 s"``, ``"3.0 min"``, ``"2.1 h"``, ``"4.0 d"``."""
    if ms is None:
        return "-"
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1_000)):
        if ms >= size:
            return f"{ms / size:.1f} {unit}"
    return f"{ms} ms"


class Duration(click.ParamType):
    """A click parameter: a duration in ms (see :func:`parse_duration_ms`)."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        """The duration in ms."""
        if isinstance(value, int):
            return value
        try:
            return parse_duration_ms(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


def backend_of(ctx: click.Context, redis_url: str | None, namespace: str | None) -> Backend:
    """The backend of a command: ``ctx.obj["backend"]`` when a caller put one there (tests),
    else Redis from the options and the environment."""
    given = (
        (ctx.find_root().obj or {}).get("backend")
        if isinstance(ctx.find_root().obj, dict)
        else None
    )
    if given is not None:
        return given  # type: ignore[no-any-return]
    return admin_backend(redis_url, namespace)


def guarded(command: Callable[..., None]) -> Callable[..., None]:
    """Turn backend and validation errors of ``command`` into a message and an exit code."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except BackendConnectionError as error:
            click.echo(f"Error: cannot reach Redis: {error}", err=True)
            sys.exit(EXIT_BACKEND)
        except BackendError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(EXIT_BACKEND)
        except ValidationError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(EXIT_USAGE)

    return run


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """``rows`` as a plain text table under ``headers`` (columns as wide as their widest cell)."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def dump(value: Any) -> str:
    """``value`` as JSON (anything unknown as its text)."""
    return json.dumps(value, default=str, sort_keys=False)
