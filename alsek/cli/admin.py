"""``alsek queues``, ``alsek message``, ``alsek purge``, ``alsek revoke`` (and the
``alsek dead-letters`` group): look at queues and change them, as an operator.

Each command takes ``--redis-url`` and ``--namespace`` (else ``ALSEK_REDIS_URL`` and
``ALSEK_NAMESPACE``), prints a table by default and JSON with ``--json``. Exit codes: 0 done,
1 not found or nothing matched, 2 bad usage, 4 Redis unreachable or unfit.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from alsek.app.services import admin as services
from alsek.app.services.inspection import queue_stats
from alsek.cli.options import connection_options
from alsek.cli.render import (
    EXIT_CODES,
    EXIT_NOT_FOUND,
    backend_of,
    dump,
    format_duration_ms,
    guarded,
    table,
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@click.command("queues", epilog=EXIT_CODES)
@click.argument("queues", nargs=-1)
@connection_options
@json_option
@click.pass_context
@guarded
def queues(ctx: click.Context, queues: tuple[str, ...], redis_url: str | None,
           namespace: str | None, as_json: bool) -> None:  # fmt: skip
    """Per queue: messages ready (to run now), delayed, leased (running or prefetched), dead
    (in the dead letter queue), and how long the oldest ready one has waited. QUEUES: the
    queues to show (default: every queue ever submitted to)."""
    backend = backend_of(ctx, redis_url, namespace)
    stats = queue_stats(backend, queues=list(queues) or None)
    if as_json:
        click.echo(dump([s.as_dict() for s in stats]))
        return
    rows = [
        (s.queue, s.ready, s.delayed, s.leased, s.dead, format_duration_ms(s.oldest_ready_age_ms))
        for s in stats
    ]
    click.echo(table(("QUEUE", "READY", "DELAYED", "LEASED", "DEAD", "OLDEST READY"), rows))
    if not stats:
        sys.exit(EXIT_NOT_FOUND)


@click.command("message", epilog=EXIT_CODES)
@click.argument("uuid")
@connection_options
@json_option
@click.pass_context
@guarded
def message(ctx: click.Context, uuid: str, redis_url: str | None, namespace: str | None,
            as_json: bool) -> None:  # fmt: skip
    """Everything known of message UUID: where it is (ready, delayed, leased, dead, or gone
    once finished), its body, status, result, lineage (callbacks) and dead letter details."""
    report = services.message_report(backend_of(ctx, redis_url, namespace), uuid)
    if report is None:
        click.echo(f"No message {uuid} (in no queue, not a dead letter, no status or result).",
                   err=True)  # fmt: skip
        sys.exit(EXIT_NOT_FOUND)
    data = report.as_dict()
    if as_json:
        click.echo(dump(data))
        return
    click.echo(_describe(data))


def _describe(data: dict[str, Any]) -> str:
    body = data["message"] or {}
    lines = [f"uuid:      {data['uuid']}", f"state:     {data['state']}"]
    if body:
        lines += [
            f"task:      {body['task_name']} (queue {body['queue']})",
            f"args:      {dump(body['args'])}  kwargs: {dump(body['kwargs'])}",
            f"attempts:  {body['retries'] + 1}  priority: {body['priority']}",
            f"created:   {body['created_at']}  updated: {body['updated_at']}",
        ]
        details = body.get("exception_details")
        if details:
            lines += [f"exception: {details.get('name')}: {details.get('text')}"]
            if details.get("traceback"):
                lines += ["traceback:", *("  " + t for t in str(details["traceback"]).splitlines())]
    status = data["status"]
    lines.append(
        f"status:    {status.get('status') if isinstance(status, dict) else status or '-'}"
    )
    lines.append(f"result:    {'-' if data['result'] is None else dump(data['result'])}")
    lineage = data["lineage"]
    for key in ("progenitor_uuid", "previous_message_uuid"):
        if lineage[key]:
            lines.append(f"{key.replace('_uuid', '')}: {lineage[key]}")
    for callback in lineage["callbacks"]:
        lines.append(f"callback:  {callback['uuid']} ({callback['state'] or 'not stored'})")
    return "\n".join(lines)


@click.command("purge", epilog=EXIT_CODES)
@click.argument("queue")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@connection_options
@json_option
@click.pass_context
@guarded
def purge(ctx: click.Context, queue: str, yes: bool, redis_url: str | None,
          namespace: str | None, as_json: bool) -> None:  # fmt: skip
    """Remove every waiting (ready or delayed) message of QUEUE, in bounded atomic steps of
    1,000. Messages leased by a worker are left to it: they finish, retry or fail as usual.
    Asks for confirmation unless --yes."""
    backend = backend_of(ctx, redis_url, namespace)
    counts = backend.queue_counts(queue)
    waiting = counts.ready + counts.delayed
    if not yes:
        click.confirm(f"Remove the {waiting:,} waiting message(s) of queue {queue!r}?",
                      abort=True)  # fmt: skip
    removed = services.purge_queue(backend, queue)
    left = backend.queue_counts(queue).leased
    if as_json:
        click.echo(dump({"queue": queue, "removed": removed, "leased_left": left}))
    else:
        click.echo(f"Removed {removed:,} message(s) from {queue!r}; {left:,} leased left to "
                   "their workers.")  # fmt: skip


@click.command("revoke", epilog=EXIT_CODES)
@click.argument("uuid")
@connection_options
@json_option
@click.pass_context
@guarded
def revoke(ctx: click.Context, uuid: str, redis_url: str | None, namespace: str | None,
           as_json: bool) -> None:  # fmt: skip
    """Revoke message UUID: take it out of its queue (a worker running it interrupts it), keep
    it as a dead letter with a RevokedError, and record FAILED if its status is tracked."""
    found = services.revoke(backend_of(ctx, redis_url, namespace), uuid)
    state = None if found is None else found.state
    if as_json:
        click.echo(dump({"uuid": uuid, "was": state, "revoked": state not in (None, "dead")}))
    elif found is None:
        click.echo(f"No message {uuid} in any queue.", err=True)
    elif state == "dead":
        click.echo(f"Message {uuid} is a dead letter already; nothing to revoke.")
    else:
        click.echo(f"Revoked message {uuid} (it was {state}).")
    if found is None:
        sys.exit(EXIT_NOT_FOUND)
