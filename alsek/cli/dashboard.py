"""``alsek dashboard``: the web dashboard (the ``alsek[dashboard]`` extra).

Exit codes: 0 stopped; 2 bad usage (off loopback without a token, the extra missing).
"""

from __future__ import annotations

import logging

import click

from alsek.cli.options import connection_options
from alsek.cli.render import backend_of
from alsek.domain.model.errors import ValidationError

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@click.command("dashboard")
@connection_options
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; anything but loopback requires --token.",
)
@click.option("--port", type=int, default=8080, show_default=True, help="Port to listen on.")
@click.option(
    "--token",
    envvar="ALSEK_DASHBOARD_TOKEN",
    default=None,
    help="Sign-in token (env ALSEK_DASHBOARD_TOKEN): open http://HOST:PORT/?token=... "
    "once; scripts send 'Authorization: Bearer TOKEN'.",
)
@click.pass_context
def dashboard(ctx: click.Context, redis_url: str | None, namespace: str | None, host: str,
              port: int, token: str | None) -> None:  # fmt: skip
    """Serve the web dashboard: queues, workers, dead letters (inspect, requeue, purge), message
    lookup and revoke. It binds to 127.0.0.1 by default; every change is a POST with CSRF
    protection.

    Exit codes: 0 stopped, 2 bad usage (off loopback without --token, alsek[dashboard] missing).
    """
    from alsek.dashboard.server import build_server

    logging.basicConfig(level=logging.INFO, format=_FORMAT)
    try:
        backend = backend_of(ctx, redis_url, namespace)
        server = build_server(backend, host=host, port=port, token=token)
    except ValidationError as error:
        raise click.UsageError(str(error)) from error
    click.echo(f"alsek dashboard on http://{host}:{port}/ (namespace {backend.namespace}); "
               "Ctrl-C stops it.")  # fmt: skip
    try:
        server.run()
    finally:
        backend.close()
