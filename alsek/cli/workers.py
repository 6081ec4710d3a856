"""``alsek workers``: the live workers in the worker registry, as a table or JSON.

Exit codes: 0 listed (even none); 2 bad usage; 4 Redis unreachable or unfit.
"""

from __future__ import annotations

import time
from typing import Any

import click

from alsek.app.services.registry import list_workers, worker_rows
from alsek.cli.options import connection_options
from alsek.cli.render import backend_of, dump, guarded, table

_HEADERS = ("WORKER", "KIND", "POOL", "QUEUES", "BUSY", "PROCESSED", "FAILED", "RETRIED", "UP",
            "SEEN", "VERSION")  # fmt: skip


def _line(row: dict[str, Any]) -> tuple[Any, ...]:
    counters = row["counters"]
    return (
        row["id"], row["kind"], row["pool_pid"], ",".join(row["queues"]),
        f"{row['busy']}/{row['concurrency']}", counters["processed"], counters["failed"],
        counters["retried"], f"{row['age_s']:.0f}s", f"{row['seen_s_ago']:.1f}s ago",
        row["version"],
    )  # fmt: skip


@click.command("workers")
@connection_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one array of records).")
@click.pass_context
@guarded
def workers(
    ctx: click.Context, redis_url: str | None, namespace: str | None, as_json: bool
) -> None:
    """List the live workers: each process pool, and each process group of a thread pool, with
    its queues, running messages and counters. A worker that dies drops out within a few
    seconds (its record's time to live).

    Exit codes: 0 listed (even none), 2 bad usage, 4 Redis unreachable or unfit.
    """
    backend = backend_of(ctx, redis_url, namespace)
    rows = worker_rows(list_workers(backend), int(time.time() * 1000))
    if as_json:
        click.echo(dump(rows))
    elif rows:
        click.echo(table(_HEADERS, [_line(row) for row in rows]))
    else:
        click.echo("No live workers.")
