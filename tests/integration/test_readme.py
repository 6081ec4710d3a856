"""The README's Python examples run as written (localhost pointed at the session's server)."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from tests.integration.tour import redirect_localhost, run

README = Path(__file__).parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.fixture(autouse=True)
def _localhost_is_the_test_server(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    redirect_localhost(monkeypatch, redis_url)


def test_the_readme_has_the_examples_this_test_runs() -> None:
    assert len(BLOCKS) == 6
    assert BLOCKS[0].startswith("# my_tasks.py")


def test_quick_start(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("my_tasks")
    monkeypatch.setitem(sys.modules, "my_tasks", module)
    run(BLOCKS[0], module.__dict__)
    scope = run(BLOCKS[1])
    broker = module.broker
    assert broker.exists(scope["message"]) and broker.exists(scope["later"])
    claim = broker.backend.claim(["math_ops"], limit=5, lease_ms=5_000)
    assert [m.uuid for m in claim.messages] == [scope["urgent"].uuid, scope["message"].uuid]
    assert scope["later"].delay == 60_000


def test_embedded_server() -> None:
    scope = run(BLOCKS[2] + "\n    backend.set('probe', 1)\n    stored = backend.get('probe')\n")
    assert scope["stored"] == 1
    assert not scope["server"].running  # stopped when the block ended


def test_sentinel_example() -> None:
    scope = run(BLOCKS[3])
    assert scope["still_there"] is True
    assert scope["sentinel"].servers == []  # stopped when the block ended


def test_cluster_example() -> None:
    scope = run(BLOCKS[4])
    assert scope["waiting"] == (10, ["math_ops", "reports"])


def test_asyncio_example(monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.testclient import TestClient

    from alsek.worker.thread.pool import ThreadWorkerPool
    from tests.integration.test_worker_pools import running

    module = types.ModuleType("app")
    monkeypatch.setitem(sys.modules, "app", module)
    run(BLOCKS[5], module.__dict__)
    pool = ThreadWorkerPool([module.shout], n_threads=1, n_processes=1, lease_ms=1_000)
    with running(pool), TestClient(module.app) as client:
        response = client.get("/shout", params={"text": "hi"})
    assert response.status_code == 200
    assert response.json() == {"shout": "HI"}
