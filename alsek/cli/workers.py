"""``alsek workers``: the live workers in the worker registry, as a table or JSON.

Exit codes: 0 listed (even none); 4 Redis could not be reached.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import click

from alsek.adapters.redis import RedisBackend
from alsek.app.services.registry import list_workers, worker_rows
from alsek.domain.model.errors import BackendError
from alsek.ports.keyvalue import DEFAULT_NAMESPACE

EXIT_BACKEND = 4

F = Callable[..., Any]


def backend_options(function: F) -> F:
    """``--redis-url`` and ``--namespace``, as every admin command takes them."""
    function = click.option(
        "--namespace", envvar="ALSEK_NAMESPACE", default=DEFAULT_NAMESPACE, show_default=True,
        help="Namespace of the keys (env ALSEK_NAMESPACE).",
    )(function)  # fmt: skip
    return click.option(
        "--redis-url", "redis_url", envvar="ALSEK_REDIS_URL", default=None,
        help="Redis to inspect [default: ALSEK_REDIS_URL, else localhost].",
    )(function)  # fmt: skip


def _table(rows: Sequence[dict[str, Any]]) -> str:
    headers = ("WORKER", "KIND", "POOL", "QUEUES", "BUSY", "PROCESSED", "FAILED", "RETRIED",
               "UP", "SEEN", "VERSION")  # fmt: skip
    lines = [
        (
            row["id"],
            row["kind"],
            str(row["pool_pid"]),
            ",".join(row["queues"]),
            f"{row['busy']}/{row['concurrency']}",
            str(row["counters"]["processed"]),
            str(row["counters"]["failed"]),
            str(row["counters"]["retried"]),
            f"{row['age_s']:.0f}s",
            f"{row['seen_s_ago']:.1f}s ago",
            row["version"],
        )  # fmt: skip
        for row in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [headers, *lines]
    )


@click.command("workers")
@backend_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one array of records).")
def workers(redis_url: str | None, namespace: str, as_json: bool) -> None:
    """List the live workers: each process pool, and each process group of a thread pool, with
    its queues, running messages and counters. A worker that dies drops out within a few
    seconds (its record's time to live).

    Exit codes: 0 listed (even none), 4 Redis unreachable.
    """
    backend = RedisBackend(redis_url, namespace=namespace)
    try:
        rows = worker_rows(list_workers(backend), int(time.time() * 1000))
    except BackendError as error:
        click.echo(f"Cannot read the worker registry: {error}", err=True)
        sys.exit(EXIT_BACKEND)
    finally:
        backend.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif rows:
        click.echo(_table(rows))
    else:
        click.echo("No live workers.")
