"""The dashboard in a real browser: headless Chromium (Playwright, driving the system's
``chromium``) against a dashboard on the session's redis-server with a real thread pool.

A failing task shows up in the dead letters; requeue from the page makes it run again (and
succeed); a message is looked up by uuid; purge from the page empties a queue. Set
``ALSEK_DASHBOARD_SCREENSHOT=path.png`` to save a screenshot of the page (docs/dashboard.png is
made that way).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from alsek.dashboard.server import BackgroundServer, build_server
from tests.integration.conftest import skip_or_fail
from tests.integration.test_worker_harness import (  # noqa: F401
    Harness,
    harness_fixture,
    wait_until,
)

TOKEN = "dashboard-test-token"
WAIT_MS = 20_000

DASH_TASKS = '''
"""Tasks of the dashboard test: flaky() fails until the test marks it fixed."""
import os

import redis

from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend

NS = os.environ["ALSEK_TEST_NAMESPACE"]
backend = RedisBackend(os.environ["ALSEK_TEST_REDIS_URL"], namespace=NS)
broker = Broker(backend)
_counter = redis.Redis.from_url(os.environ["ALSEK_TEST_COUNTER_URL"])


@task(broker, queue="dash", mechanism="thread", max_retries=0)
def flaky(i: int) -> None:
    if not _counter.exists(f"{NS}:fixed"):
        raise ValueError(f"flaky {i} is broken")
    _counter.hincrby(f"{NS}:runs", str(i), 1)


@task(broker, queue="parked", mechanism="thread")
def parked(i: int) -> None: ...
'''


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        skip_or_fail("no chromium on PATH (apt-get install -y chromium; make test does as root)")
    assert found is not None
    return found


@pytest.fixture
def browser_page() -> Iterator[Any]:
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(WAIT_MS)
        page.on("dialog", lambda dialog: dialog.accept())  # the confirm() of purges
        try:
            yield page
        finally:
            browser.close()


def _load_tasks(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    path = harness.directory / "dash_tasks.py"
    path.write_text(DASH_TASKS)
    for name in ("ALSEK_TEST_REDIS_URL", "ALSEK_TEST_COUNTER_URL", "ALSEK_TEST_NAMESPACE"):
        monkeypatch.setenv(name, harness.env[name])
    spec = importlib.util.spec_from_file_location(f"dash_tasks_{id(harness)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def dashboard(harness: Harness) -> Iterator[str]:
    server = BackgroundServer(
        build_server(harness.tasks.backend, host="127.0.0.1", port=0, token=TOKEN)
    )
    url = server.start()
    yield url
    server.stop()


def test_dead_letters_requeue_lookup_and_purge_from_the_page(
    harness: Harness, dashboard: str, browser_page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = _load_tasks(harness, monkeypatch)
    backend = harness.tasks.backend
    worker = harness.start("thread", "-qu", "dash", "--n_processes", "1", module="dash_tasks")
    failing = tasks.flaky.generate(args=(1,))
    wait_until(lambda: backend.count_dead_letters("dash") == 1, 30, "a dead letter", worker)
    parked = [tasks.parked.generate(args=(i,)) for i in range(3)]

    page = browser_page
    page.goto(f"{dashboard}/")
    assert "Sign in" in page.content()  # a token is required
    page.goto(f"{dashboard}/?token={TOKEN}")
    dead_row = page.locator(f'#dead-letters tr[data-uuid="{failing.uuid}"]')
    dead_row.wait_for()
    assert "ValueError: flaky 1 is broken" in dead_row.inner_text()
    page.locator("#workers td", has_text="thread-group").wait_for()
    page.wait_for_function(  # the worker's heartbeat record counts the failure
        "() => document.querySelector('#workers tbody tr td:nth-child(7)')?.textContent === '1'"
    )
    assert page.inner_text("#rate").startswith("(1 live, ")
    parked_row = page.locator('#queues tr[data-queue="parked"]')
    page.wait_for_function(
        "() => document.querySelector('#queues tr[data-queue=\"parked\"] td:nth-child(2)')"
        "?.textContent === '3'"
    )

    page.fill("#lookup-uuid", parked[0].uuid)
    page.click("#lookup-form button[type=submit]")
    page.locator("#lookup-result", has_text='"state": "ready"').wait_for()

    screenshot = os.environ.get("ALSEK_DASHBOARD_SCREENSHOT")
    if screenshot:
        page.screenshot(path=str(Path(screenshot)), full_page=True)

    harness.client.set(f"{harness.namespace}:fixed", 1)
    dead_row.get_by_role("button", name="Requeue").click()
    wait_until(lambda: harness.counts().get(1) == 1, 30, "the requeued run", worker)
    dead_row.wait_for(state="detached")

    parked_row.get_by_role("button", name="Purge").click()
    wait_until(lambda: backend.depth("parked") == 0, 10, "the purge")
    page.wait_for_function(
        "() => document.querySelector('#queues tr[data-queue=\"parked\"] td:nth-child(2)')"
        "?.textContent === '0'"
    )
    assert "Purge parked" in page.inner_text("#notice")
    assert worker.stop() == 0, worker.tail()
