"""The dashboard's web application on InMemoryBackend (Starlette's TestClient): sign-in, CSRF,
the reads and the changes, and its refusal to listen off loopback without a token."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # newer Starlette prefers httpx2; httpx works as well
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from alsek.adapters.memory import InMemoryBackend  # noqa: E402
from alsek.dashboard.security import CSRF_COOKIE, LOOPBACK_HOSTS, is_loopback  # noqa: E402
from alsek.dashboard.server import build_server  # noqa: E402
from alsek.dashboard.web import create_app  # noqa: E402
from alsek.domain.model.errors import ValidationError  # noqa: E402
from alsek.domain.model.message import Message  # noqa: E402
from alsek.domain.model.worker_record import WorkerRecord  # noqa: E402
from alsek.domain.services.worker_registry import WorkerRegistry  # noqa: E402

TOKEN = "s3cret"


def _dead(backend: InMemoryBackend, queue: str = "q") -> Message:
    backend.submit(Message("t", queue=queue))
    (claimed,) = backend.claim([queue], limit=1, lease_ms=1_000).messages
    claimed.update(exception_details={"name": "ValueError", "text": "bad", "traceback": "tb"})
    backend.fail(claimed, dlq_ttl=60_000)
    return claimed


@pytest.fixture
def backend() -> InMemoryBackend:
    return InMemoryBackend()


def _client(backend: InMemoryBackend, token: str | None = TOKEN) -> TestClient:
    return TestClient(create_app(backend, token=token), base_url="http://127.0.0.1:8080")


def _signed_in(backend: InMemoryBackend) -> tuple[TestClient, str]:
    client = _client(backend)
    assert client.get(f"/?token={TOKEN}", follow_redirects=True).status_code == 200
    return client, client.cookies[CSRF_COOKIE]


def test_a_token_is_needed_to_read_and_a_wrong_one_is_refused(backend: InMemoryBackend) -> None:
    client = _client(backend)
    page = client.get("/")
    assert (page.status_code, "Sign in" in page.text) == (401, True)
    assert client.get("/api/overview").status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    assert client.post("/sign-in", data={"token": "wrong"}).status_code == 401
    signed = client.post("/sign-in", data={"token": TOKEN}, follow_redirects=False)
    assert signed.status_code == 303
    assert client.get("/api/overview").status_code == 200
    script = _client(backend)
    assert script.get("/api/overview", headers={"Authorization": f"Bearer {TOKEN}"}).is_success


def test_the_page_carries_its_csrf_token(backend: InMemoryBackend) -> None:
    client, csrf = _signed_in(backend)
    page = client.get("/")
    assert f'<meta name="csrf-token" content="{csrf}">' in page.text
    assert "alsek dashboard" in page.text


def test_a_change_without_the_pages_csrf_token_is_refused(backend: InMemoryBackend) -> None:
    dead = _dead(backend)
    client, csrf = _signed_in(backend)
    url = "/api/dead-letters/requeue"
    assert client.post(url, json={"uuid": dead.uuid}).status_code == 403
    assert client.post(url, json={}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    evil = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    assert client.post(url, json={}, headers=evil).status_code == 403
    assert client.get(url).status_code == 405  # changes are POSTs only
    assert backend.count_dead_letters("q") == 1
    ok = client.post(url, json={"uuid": dead.uuid}, headers={"X-CSRF-Token": csrf})
    assert ok.json() == {"requeued": 1}
    assert backend.count_dead_letters("q") == 0


def test_reads_show_queues_workers_dead_letters_and_messages(backend: InMemoryBackend) -> None:
    dead = _dead(backend)
    backend.submit(Message("t", queue="q"))
    WorkerRegistry(backend).beat(
        WorkerRecord(id="h:1", kind="process-pool", host="h", pid=1, pool_pid=1, version="v",
                     queues=["q"], tasks=["t"], concurrency=2, started_ms=1, seen_ms=1)
    )  # fmt: skip
    client, _ = _signed_in(backend)
    overview = client.get("/api/overview").json()
    assert [(q["queue"], q["ready"], q["dead"]) for q in overview["queues"]] == [("q", 1, 1)]
    assert [w["id"] for w in overview["workers"]] == ["h:1"]
    letters = client.get("/api/dead-letters?queue=q").json()
    assert [(d["uuid"], d["exception"], d["text"]) for d in letters["items"]] == [
        (dead.uuid, "ValueError", "bad")
    ]
    assert client.get("/api/dead-letters?queue=other").json() == {"items": [], "more": False}
    assert client.get("/api/dead-letters?queue=no%20way").status_code == 400
    assert client.get(f"/api/messages/{dead.uuid}").json()["state"] == "dead"
    assert client.get("/api/messages/nothing").status_code == 404


def test_changes_purge_revoke_and_purge_dead_letters(backend: InMemoryBackend) -> None:
    _dead(backend)
    waiting = [Message("t", queue="q") for _ in range(3)]
    for message in waiting:
        backend.submit(message)
    client, csrf = _signed_in(backend)
    headers = {"X-CSRF-Token": csrf}
    revoked = client.post(f"/api/messages/{waiting[0].uuid}/revoke", headers=headers)
    assert revoked.json() == {"revoked": True, "was": "ready"}
    assert client.post("/api/messages/nothing/revoke", headers=headers).status_code == 404
    assert client.post("/api/queues/q/purge", headers=headers).json() == {"purged": 2}
    purged = client.post("/api/dead-letters/purge", json={"queue": "q"}, headers=headers)
    assert purged.json() == {"purged": 2}  # the failed one and the revoked one
    assert backend.depth("q") == 0 and backend.count_dead_letters("q") == 0


def test_without_a_token_a_loopback_dashboard_needs_only_csrf(backend: InMemoryBackend) -> None:
    client = _client(backend, token=None)
    assert client.get("/").status_code == 200
    csrf = client.cookies[CSRF_COOKIE]
    reply = client.post("/api/dead-letters/purge", json={}, headers={"X-CSRF-Token": csrf})
    assert reply.json() == {"purged": 0}


def test_a_loopback_dashboard_answers_only_loopback_host_names(backend: InMemoryBackend) -> None:
    app = create_app(backend, allowed_hosts=LOOPBACK_HOSTS)
    assert TestClient(app, base_url="http://localhost:8080").get("/").status_code == 200
    assert TestClient(app, base_url="http://evil.example").get("/").status_code == 400


def test_off_loopback_a_token_is_required(backend: InMemoryBackend) -> None:
    assert is_loopback("127.0.0.1") and not is_loopback("0.0.0.0")
    with pytest.raises(ValidationError, match="needs --token"):
        build_server(backend, host="0.0.0.0", port=0)
    assert build_server(backend, host="0.0.0.0", port=0, token=TOKEN) is not None
