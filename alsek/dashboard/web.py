"""The dashboard's web application (Starlette): one HTML page that polls a small JSON API.

``GET /`` is the page (or the sign-in form), ``GET /api/overview``, ``/api/dead-letters`` and
``/api/messages/{uuid}`` read; ``POST /api/dead-letters/requeue``, ``/api/dead-letters/purge``,
``/api/queues/{queue}/purge`` and ``/api/messages/{uuid}/revoke`` change state (see
:mod:`alsek.dashboard.security` for who may). Backend calls run in a thread pool, never on the
event loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from html import escape
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from alsek.dashboard import views
from alsek.dashboard.security import CSRF_COOKIE, LOOPBACK_HOSTS, SESSION_COOKIE, Guard
from alsek.domain.model.errors import AlsekError, BackendError, ValidationError
from alsek.ports.backend import Backend

log = logging.getLogger("alsek.dashboard")

_SIGN_IN = """<!doctype html><html><head><meta charset="utf-8"><title>alsek: sign in</title>
</head><body style="font-family:sans-serif;margin:4em">
<h1>alsek dashboard</h1><form method="post" action="/sign-in">
<label>Token <input type="password" name="token" autofocus></label>
<button type="submit">Sign in</button></form>{error}</body></html>"""


#: A view: the request and its JSON body -> what to answer (None: 404).
View = Callable[[Request, dict[str, Any]], Any]
Endpoint = Callable[[Request], Awaitable[Response]]


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status, media_type="application/json")


def _page(csrf: str, namespace: str) -> str:
    text = resources.files("alsek.dashboard").joinpath("static/index.html").read_text("utf-8")
    return text.replace("{{csrf}}", escape(csrf)).replace("{{namespace}}", escape(namespace))


def create_app(
    backend: Backend, *, token: str | None = None, allowed_hosts: tuple[str, ...] | None = None
) -> Starlette:
    """The dashboard on ``backend``.

    Args:
        backend: the backend to show and act on.
        token: required to sign in (None: anyone who reaches it may use it).
        allowed_hosts: Host headers accepted (None: any; a loopback dashboard should pass
            :data:`~alsek.dashboard.security.LOOPBACK_HOSTS`, against DNS rebinding).
    """
    guard = Guard(token)

    def reader(view: View) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if not guard.allowed(request.cookies, request.headers):
                return _json({"error": "sign in first"}, 401)
            return await _call(view, request)

        return endpoint

    def changer(view: View) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if not guard.allowed(request.cookies, request.headers):
                return _json({"error": "sign in first"}, 401)
            if not guard.may_change(request.cookies, request.headers):
                return _json({"error": "missing or wrong CSRF token"}, 403)
            return await _call(view, request)

        return endpoint

    async def _call(view: View, request: Request) -> Response:
        body = await request.json() if request.method == "POST" and await request.body() else {}
        try:
            result = await run_in_threadpool(view, request, body)
        except ValidationError as error:
            return _json({"error": str(error)}, 400)
        except BackendError as error:
            log.warning("Backend error: %s", error)
            return _json({"error": f"backend unavailable: {error}"}, 503)
        except AlsekError as error:
            return _json({"error": str(error)}, 409)
        if result is None:
            return _json({"error": "not found"}, 404)
        return _json(result)

    async def home(request: Request) -> Response:
        given = request.query_params.get("token")
        if given is not None and guard.sign_in(given):
            return _signed_in(guard)
        if not guard.allowed(request.cookies, request.headers):
            return HTMLResponse(_SIGN_IN.format(error=""), 401)
        csrf = request.cookies.get(CSRF_COOKIE) or guard.new_csrf()
        page = HTMLResponse(_page(csrf, backend.namespace))
        page.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        return page

    async def sign_in(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        if guard.sign_in((form.get("token") or [""])[0]):
            return _signed_in(guard)
        return HTMLResponse(_SIGN_IN.format(error="<p>Wrong token.</p>"), 401)

    def body_value(body: dict[str, Any], name: str) -> str | None:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{name} must be a string")
        return value or None

    routes = [
        Route("/", home),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/api/overview", reader(lambda r, b: views.overview(backend))),
        Route(
            "/api/dead-letters",
            reader(lambda r, b: views.dead_letters(backend, r.query_params.get("queue"))),
        ),
        Route(
            "/api/messages/{uuid}",
            reader(lambda r, b: views.message(backend, r.path_params["uuid"])),
        ),
        Route(
            "/api/dead-letters/requeue",
            changer(lambda r, b: {"requeued": views.requeue(
                backend, body_value(b, "uuid"), body_value(b, "queue"))}),
            methods=["POST"],
        ),
        Route(
            "/api/dead-letters/purge",
            changer(lambda r, b: {"purged": views.purge_dead_letters(
                backend, body_value(b, "queue"))}),
            methods=["POST"],
        ),
        Route(
            "/api/queues/{queue}/purge",
            changer(lambda r, b: {"purged": views.purge_queue(backend, r.path_params["queue"])}),
            methods=["POST"],
        ),
        Route(
            "/api/messages/{uuid}/revoke",
            changer(lambda r, b: _revoked(views.revoke(backend, r.path_params["uuid"]))),
            methods=["POST"],
        ),
    ]  # fmt: skip
    middleware = []
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    return Starlette(routes=routes, middleware=middleware)


def _revoked(state: str | None) -> dict[str, Any] | None:
    return None if state is None else {"revoked": state != "dead", "was": state}


def _signed_in(guard: Guard) -> Response:
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, guard.session, httponly=True, samesite="strict")
    return response


__all__ = ["LOOPBACK_HOSTS", "create_app"]
