"""The key-value and pub/sub contract: values, TTLs, names, namespaces, channels."""

from __future__ import annotations

import ast
import time
from typing import Any

import pytest

from alsek.domain.model.errors import (
    SerializationError,
    ValidationError,
)
from alsek.ports.keyvalue import MISSING
from alsek.ports.serializer import Serializer
from tests.contract.support import BOUND_S, TTL, ContractBase, run_in_thread


class KeyValueContract(ContractBase):
    """What the key-value facet of every backend does."""

    # == key-value ================================================================================

    @pytest.mark.parametrize(
        "value", [1, -2.5, "text", "", None, True, [1, "a", None], {"a": {"b": [1]}}]
    )
    def test_set_then_get_round_trips(self, backend, value):
        backend.set("results:v", value)
        assert backend.get("results:v") == value
        assert backend.exists("results:v")

    def test_get_of_a_missing_name(self, backend):
        with pytest.raises(KeyError):
            backend.get("results:missing")
        assert backend.get("results:missing", default=None) is None
        assert backend.get("results:missing", "d") == "d"
        assert not backend.exists("results:missing")

    def test_set_overwrites(self, backend):
        backend.set("k", 1)
        backend.set("k", 2)
        assert backend.get("k") == 2

    def test_set_nx_only_sets_a_missing_name(self, backend):
        backend.set("lock:a", "me", nx=True)
        with pytest.raises(KeyError):
            backend.set("lock:a", "you", nx=True)
        assert backend.get("lock:a") == "me"

    def test_set_with_ttl_expires(self, backend, clock):
        backend.set("results:t", 1, ttl=TTL)
        backend.set("results:keep", 2)
        assert backend.get("results:t") == 1
        self.let_ttl_elapse(clock, TTL)
        assert not backend.exists("results:t")
        assert backend.get("results:t", None) is None
        assert backend.get_many(["results:t", "results:keep"]) == [MISSING, 2]
        assert set(backend.scan("results:")) == {"results:keep"}
        assert backend.count("results:") == 1
        with pytest.raises(KeyError):
            backend.delete("results:t")
        backend.set("results:t", 3, nx=True)  # an expired name is free
        assert backend.get("results:t") == 3

    def test_set_without_ttl_clears_an_earlier_ttl(self, backend, clock):
        backend.set("k", 1, ttl=TTL)
        backend.set("k", 2)
        self.let_ttl_elapse(clock, TTL)
        assert backend.get("k") == 2

    def test_set_of_an_unencodable_value_writes_nothing(self, backend):
        backend.set("k", 1)
        with pytest.raises(SerializationError):
            backend.set("k", object())
        with pytest.raises(SerializationError):
            backend.set("k2", {"a": object()})
        assert backend.get("k") == 1
        assert not backend.exists("k2")

    def test_get_of_an_undecodable_value_raises(self, backend):
        self.write_raw(backend, "results:raw", b"\xff\x00 not json")
        with pytest.raises(SerializationError):
            backend.get("results:raw")

    def test_delete(self, backend):
        backend.set("k", 1)
        backend.delete("k")
        assert not backend.exists("k")
        with pytest.raises(KeyError):
            backend.delete("k")
        backend.delete("k", missing_ok=True)

    def test_delete_if_equal_deletes_only_the_expected_value(self, backend):
        record = {"owner": "me", "expires_at": 5}
        backend.set("lock", record)
        assert not backend.delete_if_equal("lock", {"owner": "you", "expires_at": 5})
        assert backend.get("lock") == record
        assert backend.delete_if_equal("lock", record)
        assert not backend.exists("lock")
        assert not backend.delete_if_equal("lock", record)

    def test_get_many_keeps_order_and_marks_missing(self, backend):
        backend.set("a", 1)
        backend.set("c", [3])
        assert backend.get_many(["c", "b", "a", "c"]) == [[3], MISSING, 1, [3]]
        assert backend.get_many([]) == []

    def test_scan_and_count_by_prefix(self, backend):
        names = ["results:a:1", "results:a:2", "results:ab", "results:b:1", "status:a"]
        for name in names:
            backend.set(name, 0)
        assert set(backend.scan()) >= set(names)
        assert sorted(backend.scan("results:a")) == names[:3]
        assert sorted(backend.scan("results:a:")) == names[:2]
        assert sorted(backend.scan("results:*:1")) == ["results:a:1", "results:b:1"]
        assert sorted(backend.scan("results:?:")) == names[:2] + ["results:b:1"]
        assert backend.count("results:") == 4
        assert backend.count("nothing:") == 0

    def test_count_of_a_queue_counts_its_message_bodies(self, backend, clock):
        for _ in range(3):
            backend.submit(self.make(clock, queue="math_ops"))
        backend.submit(self.make(clock, queue="other"))
        assert backend.count("queues:math_ops") == 3
        self.claim(backend, "math_ops", limit=1)
        assert backend.count("queues:math_ops") == 3  # leased bodies are still stored

    def test_clear_namespace_deletes_everything(self, backend, clock):
        backend.set("results:a", 1)
        backend.set("results:b", 2, ttl=60_000)
        backend.submit(self.make(clock))
        backend.submit(self.make(clock, delay=5_000))
        backend.fail(self.make(clock, queue="q_dead"), dlq_ttl=60_000)
        assert backend.clear_namespace() >= 5
        assert list(backend.scan()) == []
        assert backend.count() == 0
        assert backend.depth("q") == 0
        assert backend.queues() == []
        assert list(backend.dead_letters()) == []
        clock.advance(10_000)
        assert self.uuids(backend) == []

    def test_a_zero_ttl_stores_nothing_visible(self, backend):
        backend.set("k", 1, ttl=0)
        assert not backend.exists("k")
        backend.set("k", 1, nx=True, ttl=0)  # a name set with ttl=0 is still free
        assert not backend.exists("k")

    @pytest.mark.parametrize("ttl", [-1, 1.5, True, "5"])
    def test_invalid_ttls_raise_before_writing(self, backend, ttl):
        with pytest.raises(ValidationError):
            backend.set("k", 1, ttl=ttl)
        assert not backend.exists("k")

    def test_readers_get_independent_copies(self, backend):
        backend.set("k", {"list": [1]})
        backend.get("k")["list"].append(2)
        assert backend.get("k") == {"list": [1]}

    def test_scan_glob_escapes_and_classes(self, backend):
        for name in ["a*b", "axb", "a1", "a2", "a3"]:
            backend.set(name, 0)
        assert sorted(backend.scan("a\\*")) == ["a*b"]
        assert sorted(backend.scan("a[12]")) == ["a1", "a2"]
        assert sorted(backend.scan("a[^12x*]")) == ["a3"]
        assert sorted(backend.scan("a[1-2]")) == ["a1", "a2"]
        assert sorted(backend.scan("a[")) == []

    # == namespaces ===============================================================================

    def test_namespaces_isolate_backends_on_one_store(self, backend, clock):
        other = self.make_sibling(backend, f"{backend.namespace}_other")
        assert other.namespace != backend.namespace
        backend.set("k", "mine")
        other.set("k", "theirs")
        assert backend.get("k") == "mine"
        assert other.get("k") == "theirs"
        message = self.make(clock)
        backend.submit(message)
        other.submit(message)  # same uuid, other namespace: no conflict
        assert other.depth("q") == 1
        assert self.uuids(backend) == [message.uuid]
        assert other.depth("q") == 1
        backend.set("only_here", 1)
        assert not other.exists("only_here")
        assert "only_here" not in set(other.scan())
        backend.clear_namespace()
        assert other.get("k") == "theirs"
        assert self.uuids(other) == [message.uuid]
        other.clear_namespace()

    def test_an_invalid_namespace_is_refused_and_changes_nothing(self, backend):
        backend.set("k", 1)
        namespace = backend.namespace
        for bad in ("", None):
            with pytest.raises(ValidationError):
                backend.namespace = bad
        assert backend.namespace == namespace
        assert backend.get("k") == 1

    def test_an_assigned_serializer_is_used_for_everything(self, backend, clock):
        backend.serializer = _ReprSerializer()
        backend.set("k", (1, 2))
        assert backend.get("k") == (1, 2)
        message = self.make(clock, args=(1, (2, 3)))
        backend.submit(message)
        assert self.claim(backend).messages == [message]
        with backend.subscribe("c") as subscription:
            backend.publish("c", {1: "one"})
            assert subscription.get(int(BOUND_S * 1000)) == {1: "one"}

    # == pub/sub ==================================================================================

    def test_publish_reaches_subscribers(self, backend):
        with backend.subscribe("c1", "c2") as first, backend.subscribe("c1") as second:
            backend.publish("c1", {"n": [1, 2]})
            backend.publish("c2", "two")
            backend.publish("c3", "nobody")
            assert first.get(int(BOUND_S * 1000)) == {"n": [1, 2]}
            assert first.get(int(BOUND_S * 1000)) == "two"
            assert second.get(int(BOUND_S * 1000)) == {"n": [1, 2]}
            assert second.get(50) is MISSING

    def test_subscription_get_times_out(self, backend):
        with backend.subscribe("c") as subscription:
            started = time.monotonic()
            assert subscription.get(50) is MISSING
            assert 0.04 <= time.monotonic() - started < BOUND_S

    def test_values_published_before_subscribing_are_not_delivered(self, backend):
        backend.publish("c", "early")
        with backend.subscribe("c") as subscription:
            assert subscription.get(50) is MISSING

    def test_a_waiting_subscriber_wakes_on_publish(self, backend):
        with backend.subscribe("c") as subscription:
            join = run_in_thread(lambda: subscription.get(int(BOUND_S * 1000)))
            backend.publish("c", 42)
            assert join() == 42

    def test_a_closed_subscription_receives_nothing(self, backend):
        subscription = backend.subscribe("c")
        subscription.close()
        subscription.close()  # idempotent
        backend.publish("c", 1)
        assert subscription.get(50) is MISSING

    def test_close_is_idempotent(self, backend):
        backend.close()
        backend.close()

    def test_publish_of_an_unencodable_value_raises(self, backend):
        with pytest.raises(SerializationError):
            backend.publish("c", object())

    def test_pub_sub_is_namespaced(self, backend):
        other = self.make_sibling(backend, f"{backend.namespace}_other")
        with backend.subscribe("c") as subscription:
            other.publish("c", "theirs")
            backend.publish("c", "mine")
            assert subscription.get(int(BOUND_S * 1000)) == "mine"
            assert subscription.get(50) is MISSING

    def test_subscribe_needs_a_channel(self, backend):
        with pytest.raises(ValidationError):
            backend.subscribe()

    def test_close_closes_the_backends_subscriptions(self, backend):
        subscription = backend.subscribe("c")
        backend.close()
        backend.publish("c", 1)
        assert subscription.get(50) is MISSING


class _ReprSerializer(Serializer):
    """Python literals as text: shows that every value goes through the backend's serializer."""

    def forward(self, obj: Any) -> bytes | str:
        return repr(obj)

    def reverse(self, data: bytes | str) -> Any:
        return ast.literal_eval(data if isinstance(data, str) else data.decode())
