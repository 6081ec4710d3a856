"""``alsek dead-letters list|show|requeue|purge``: the dead letter queue, by filter (queue,
task, exception type, age) or by uuid, read a page at a time."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

import click

from alsek.app.services import admin as services
from alsek.cli.options import connection_options
from alsek.cli.render import (
    EXIT_CODES,
    EXIT_NOT_FOUND,
    Duration,
    backend_of,
    dump,
    format_duration_ms,
    guarded,
    table,
)
from alsek.domain.model.dead_letters import DeadLetterFilter, exception_name
from alsek.domain.model.message import Message
from alsek.ports.backend import Backend

F = Callable[..., Any]


def _filters(function: F) -> F:
    options: list[Callable[[F], F]] = [
        click.option("--queue", "-q", help="Only dead letters of this queue."),
        click.option("--task", "-t", help="Only those of this task."),
        click.option("--exception", "-e", help="Only those that failed with this exception "
                                               "class (e.g. ValueError)."),
        click.option("--older-than", "--older_than", "older_than", type=Duration(),
                     help="Only those that failed at least this long ago (500, 30s, 10m, 2h, 7d)."),
        click.option("--newer-than", "--newer_than", "newer_than", type=Duration(),
                     help="Only those that failed at most this long ago."),
        connection_options,
        click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table."),
    ]  # fmt: skip
    for each in reversed(options):
        function = each(function)
    return function


def _where(options: dict[str, Any]) -> DeadLetterFilter:
    return DeadLetterFilter(
        queue=options["queue"], task=options["task"], exception=options["exception"],
        older_than_ms=options["older_than"], newer_than_ms=options["newer_than"],
    )  # fmt: skip


def _backend(ctx: click.Context, options: dict[str, Any]) -> Backend:
    return backend_of(ctx, options["redis_url"], options["namespace"])


def _rows(backend: Backend, letters: Iterable[Message]) -> Iterable[tuple[Any, ...]]:
    now = backend.clock.now_ms()
    for m in letters:
        failed = m.updated_at or m.created_at
        age = None if failed is None else max(now - int(failed), 0)
        yield (m.uuid, m.queue, m.task_name, m.retries + 1, exception_name(m),
               format_duration_ms(age))  # fmt: skip


_HEADERS = ("UUID", "QUEUE", "TASK", "ATTEMPTS", "EXCEPTION", "FAILED AGO")


def _summary(letter: Message) -> dict[str, Any]:
    return {
        "uuid": letter.uuid, "queue": letter.queue, "task": letter.task_name,
        "attempts": letter.retries + 1, "exception": letter.exception_details,
        "updated_at": letter.updated_at, "created_at": letter.created_at,
    }  # fmt: skip


@click.group("dead-letters", epilog=EXIT_CODES)
def dead_letters() -> None:
    """The dead letter queue: messages that failed for good (or were revoked)."""


@dead_letters.command("list", epilog=EXIT_CODES)
@_filters
@click.option("--limit", type=int, default=100, show_default=True,
              help="Most dead letters to print (0: all; the scan reads pages either way).")  # fmt: skip
@click.pass_context
@guarded
def list_(ctx: click.Context, limit: int, **options: Any) -> None:
    """List dead letters (those meeting every filter given)."""
    backend = _backend(ctx, options)
    letters = []
    for letter in services.dead_letters(backend, _where(options)):
        letters.append(letter)
        if limit and len(letters) >= limit:
            break
    if options["as_json"]:
        click.echo(dump([_summary(m) for m in letters]))
    else:
        click.echo(table(_HEADERS, _rows(backend, letters)))
    if not letters:
        sys.exit(EXIT_NOT_FOUND)


@dead_letters.command("show", epilog=EXIT_CODES)
@click.argument("uuid")
@connection_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
@guarded
def show(ctx: click.Context, uuid: str, redis_url: str | None, namespace: str | None,
         as_json: bool) -> None:  # fmt: skip
    """Show dead letter UUID: its body, attempts, exception and traceback."""
    letter = services.find_dead_letter(backend_of(ctx, redis_url, namespace), uuid)
    if letter is None:
        click.echo(f"No dead letter {uuid}.", err=True)
        sys.exit(EXIT_NOT_FOUND)
    if as_json:
        click.echo(dump(letter.data))
        return
    details = letter.exception_details or {}
    click.echo(
        f"uuid:      {letter.uuid}\ntask:      {letter.task_name} (queue {letter.queue})\n"
        f"args:      {dump(letter.args)}  kwargs: {dump(letter.kwargs)}\n"
        f"attempts:  {letter.retries + 1}\n"
        f"exception: {details.get('name')}: {details.get('text')}\n"
        f"traceback:\n{details.get('traceback') or '  (none)'}"
    )


def _change(name: str, verb: str, help_text: str) -> Callable[[F], click.Command]:
    def build(apply: F) -> click.Command:
        @dead_letters.command(name, epilog=EXIT_CODES, help=help_text)
        @click.argument("uuids", nargs=-1)
        @_filters
        @click.option(
            "--all",
            "everything",
            is_flag=True,
            help="Every dead letter (needed when no UUID and no filter is given).",
        )
        @click.option(
            "--dry-run", "--dry_run", "dry_run", is_flag=True, help="Only print what would be done."
        )
        @click.pass_context
        @guarded
        def command(ctx: click.Context, uuids: tuple[str, ...], everything: bool,
                    dry_run: bool, **options: Any) -> None:  # fmt: skip
            where = _where(options)
            if not uuids and where == DeadLetterFilter() and not everything:
                raise click.UsageError("give UUIDs, a filter or --all")
            backend = _backend(ctx, options)
            done = apply(backend, where, uuids, dry_run)
            if options["as_json"]:
                click.echo(dump({"dry_run": dry_run, verb: [_summary(m) for m in done]}))
            else:
                what = f"Would have {verb}" if dry_run else verb.capitalize()
                click.echo(table(_HEADERS, _rows(backend, done)) if done else "")
                click.echo(f"{what} {len(done):,} dead letter(s).")
            if not done:
                sys.exit(EXIT_NOT_FOUND)

        return command

    return build


def _chosen(
    backend: Backend, where: DeadLetterFilter, uuids: tuple[str, ...]
) -> DeadLetterFilter | list[Message]:
    if not uuids:
        return where
    now = backend.clock.now_ms()
    found = (services.find_dead_letter(backend, uuid) for uuid in uuids)
    return [m for m in found if m is not None and where.matches(m, now)]


@_change("requeue", "requeued",
         "Send dead letters back to their queues (UUIDs, or those meeting the filters): "
         "retries reset, the recorded status back to SUBMITTED, the past attempts and "
         "exception kept in the message's metadata (alsek_requeues).")  # fmt: skip
def requeue(backend: Backend, where: DeadLetterFilter, uuids: tuple[str, ...],
            dry_run: bool) -> list[Message]:  # fmt: skip
    chosen = _chosen(backend, where, uuids)
    if isinstance(chosen, DeadLetterFilter):
        return services.requeue_dead_letters(backend, chosen, dry_run=dry_run)
    if dry_run:
        return chosen
    return [fresh for m in chosen if (fresh := services.requeue_one(backend, m)) is not None]


@_change("purge", "purged",
         "Delete dead letters for good (UUIDs, or those meeting the filters).")  # fmt: skip
def purge(backend: Backend, where: DeadLetterFilter, uuids: tuple[str, ...],
          dry_run: bool) -> list[Message]:  # fmt: skip
    chosen = _chosen(backend, where, uuids)
    if isinstance(chosen, DeadLetterFilter):
        return services.purge_dead_letters(backend, chosen, dry_run=dry_run)
    if not dry_run:
        backend.delete_dead_letters(chosen)
    return chosen
