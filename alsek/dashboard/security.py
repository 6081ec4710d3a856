"""Who may use the dashboard, and proof that a state-changing request comes from its own page.

With a token, a browser signs in once (``/?token=...``, or the sign-in form) and gets a session
cookie (HttpOnly, SameSite=Strict) that is an HMAC of a secret made at start, so restarting the
dashboard signs everyone out; scripts send ``Authorization: Bearer <token>`` instead. Every
state-changing request is a POST, and one from a browser must carry the CSRF token of its page
in the ``X-CSRF-Token`` header, equal to its CSRF cookie (a double submit: another site can
neither read the cookie nor send the header), and an ``Origin``, when sent, of this very host.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

SESSION_COOKIE = "alsek_session"
CSRF_COOKIE = "alsek_csrf"
CSRF_HEADER = "x-csrf-token"

#: Hosts a dashboard bound to a loopback address answers for (no DNS rebinding).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the dashboard on this machine."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


class Guard:
    """Checks sign-in and CSRF.

    Args:
        token: the secret users sign in with (None: no sign-in, for a dashboard on loopback).
    """

    def __init__(self, token: str | None) -> None:
        self.token = token or None
        self._secret = secrets.token_bytes(32)

    @property
    def session(self) -> str:
        """The session cookie's value once signed in."""
        return hmac.new(self._secret, b"session", hashlib.sha256).hexdigest()

    def sign_in(self, given: str | None) -> bool:
        """Whether ``given`` is the token."""
        return self.token is not None and given is not None and _same(given, self.token)

    def bearer(self, headers: Mapping[str, str]) -> bool:
        """Whether the request carries ``Authorization: Bearer <token>``."""
        scheme, _, value = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.sign_in(value.strip())

    def allowed(self, cookies: Mapping[str, str], headers: Mapping[str, str]) -> bool:
        """Whether the request may read the dashboard."""
        if self.token is None or self.bearer(headers):
            return True
        return _same(cookies.get(SESSION_COOKIE, ""), self.session)

    @staticmethod
    def new_csrf() -> str:
        """A fresh CSRF token for a page (and its cookie)."""
        return secrets.token_urlsafe(32)

    def may_change(self, cookies: Mapping[str, str], headers: Mapping[str, str]) -> bool:
        """Whether a POST may change state: a bearer token, or a CSRF header equal to the CSRF
        cookie from a page of this host."""
        if self.token is not None and self.bearer(headers):
            return True
        cookie, header = cookies.get(CSRF_COOKIE, ""), headers.get(CSRF_HEADER, "")
        if not cookie or not header or not _same(cookie, header):
            return False
        origin = headers.get("origin")
        return origin is None or urlsplit(origin).netloc == headers.get("host", "")


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
