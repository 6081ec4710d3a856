"""Redis URLs of one server, a Sentinel-managed primary and a Cluster: parsed without
connecting, and never shown with their password."""

from __future__ import annotations

import pytest

from alsek.adapters.redis import RedisBackend
from alsek.adapters.redis.urls import parse, redact
from alsek.domain.model.errors import ValidationError


def test_a_sentinel_url_names_the_sentinels_the_service_and_the_primary_settings():
    spec = parse(
        "redis+sentinel://:s3cret@10.0.0.1,10.0.0.2:26380,[::1]:5000/mymaster/2"
        "?socket_timeout=3&sentinel_password=other"
    )
    assert spec.kind == "sentinel" and spec.service_name == "mymaster"
    assert spec.hosts == (("10.0.0.1", 26379), ("10.0.0.2", 26380), ("::1", 5000))
    assert spec.kwargs == {"password": "s3cret", "db": 2, "socket_timeout": 3.0}
    assert spec.sentinel_kwargs == {"password": "other", "socket_timeout": 3.0}


def test_a_cluster_url_names_its_startup_nodes():
    spec = parse("rediss+cluster://user:pw@a:7000,b/?socket_connect_timeout=2")
    assert spec.kind == "cluster" and spec.hosts == (("a", 7000), ("b", 6379))
    assert spec.kwargs == {"username": "user", "password": "pw", "ssl": True,
                           "socket_connect_timeout": 2.0}  # fmt: skip


def test_a_server_url_is_read_by_redis_py():
    spec = parse("redis://localhost:6380/1")
    assert spec.kind == "redis" and spec.kwargs == {"host": "localhost", "port": 6380, "db": 1}


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+sentinel://:hunter2@host:26379", "Sentinel service"),
        ("redis+cluster://:hunter2@host:7000/3", "database 0 only"),
        ("redis+cluster://:hunter2@", "no host"),
        ("redis+cluster://:hunter2@a:b:c", "host"),
        ("http://user:hunter2@localhost:6379", "scheme"),
        ("redis://:hunter2@localhost:6379/0?socket_timeout=soon", "socket_timeout"),
    ],
)
def test_errors_name_the_problem_and_never_the_password(url, problem):
    with pytest.raises(ValidationError, match=problem) as raised:
        RedisBackend(url)
    assert "hunter2" not in str(raised.value) and "***" in str(raised.value)


def test_redact_masks_passwords_in_the_user_part_and_in_options():
    assert redact("redis://u:pw@h:1/0?password=x&db=1") == "redis://u:***@h:1/0?password=***&db=1"
    assert redact("redis://h:1/0") == "redis://h:1/0"
    assert redact("redis+sentinel://:pw@a,b/svc?sentinel_password=y") == (
        "redis+sentinel://:***@a,b/svc?sentinel_password=***"
    )


def test_a_backend_on_a_topology_url_connects_nothing_until_used():
    for url in ("redis+sentinel://127.0.0.1:9/svc", "redis+cluster://127.0.0.1:9"):
        backend = RedisBackend(url)
        assert backend.describe()["connection"] == {"url": url}
        backend.close()
