"""LocalCluster and LocalSentinel: the local topologies the Cluster and Sentinel work runs on."""

from __future__ import annotations

import itertools

import pytest
import redis

from alsek.adapters.redis import LocalCluster, LocalSentinel
from alsek.adapters.redis.topology import role
from alsek.domain.model.errors import ValidationError

_keys = itertools.count()


def _keys_on_every_primary(client: redis.cluster.RedisCluster, primaries: list) -> dict:
    """A key per primary, for the primary that serves its slot: ``{address: key}``."""
    found: dict = {}
    for _ in range(10_000):  # ~3 tries per primary on average; bounded all the same
        key = f"topology:{next(_keys)}"
        node = client.get_node_from_key(key)
        found.setdefault((node.host, node.port), key)
        if len(found) == len(primaries):
            return found
    raise AssertionError(f"no key found for some of {primaries}: {found}")


def test_cluster_forms_and_spreads_keys_over_every_primary(local_cluster: LocalCluster):
    primaries = local_cluster.primaries()
    assert len(primaries) == 3 and len(local_cluster.nodes) == 6
    assert all(len(local_cluster.replicas_of(primary)) == 1 for primary in primaries)
    client = local_cluster.client()
    assert client.cluster_info()["cluster_state"] == "ok"
    keys = _keys_on_every_primary(client, primaries)
    assert sorted(keys) == sorted(primaries)
    for address, key in keys.items():
        client.set(key, f"on {address}")
    for address, key in keys.items():  # each key is on its primary, read without the client
        with redis.Redis(*address, decode_responses=True) as direct:
            assert direct.get(key) == f"on {address}"
    client.close()


def test_cluster_failover_flips_roles_and_keeps_data(local_cluster: LocalCluster):
    primary = local_cluster.primaries()[0]
    (replica,) = local_cluster.replicas_of(primary)
    client = local_cluster.client()
    key = _keys_on_every_primary(client, local_cluster.primaries())[primary]
    client.set(key, "before")
    client.wait(1, 10_000, target_nodes=client.get_node_from_key(key))  # on the replica too
    assert local_cluster.failover(primary) == replica
    nodes = {node.address: node for node in local_cluster.nodes}
    assert role(nodes[replica]) == "master" and role(nodes[primary]) == "slave"
    assert replica in local_cluster.primaries() and primary not in local_cluster.primaries()
    assert local_cluster.replicas_of(replica) == [primary]
    client.close()
    fresh = local_cluster.client()
    assert fresh.get(key) == "before"
    assert (fresh.get_node_from_key(key).host, fresh.get_node_from_key(key).port) == replica
    fresh.close()


def test_sentinel_reports_the_primary(local_sentinel: LocalSentinel):
    address = local_sentinel.master_address()
    servers = {server.address: server for server in local_sentinel.servers}
    assert role(servers[address]) == "master"
    assert sum(role(server) == "slave" for server in servers.values()) == 1
    sentinel = local_sentinel.sentinel_client(decode_responses=True)
    for one in sentinel.sentinels:  # every sentinel agrees
        host, port = one.sentinel_get_master_addr_by_name(local_sentinel.service_name)
        assert (host.decode(), int(port)) == address
    assert sentinel.discover_master(local_sentinel.service_name) == address


def test_sentinel_failover_moves_the_primary(local_sentinel: LocalSentinel):
    old = local_sentinel.master_address()
    name = local_sentinel.service_name
    before = local_sentinel.sentinel_client(decode_responses=True).master_for(name)
    before.set("topology:sentinel", "before")
    assert before.wait(1, 10_000) == 1  # the replica has it
    before.close()
    new = local_sentinel.failover()
    assert new != old and local_sentinel.master_address() == new
    servers = {server.address: server for server in local_sentinel.servers}
    assert role(servers[new]) == "master" and role(servers[old]) == "slave"
    after = local_sentinel.sentinel_client(decode_responses=True).master_for(name)
    assert after.get("topology:sentinel") == "before"
    after.set("topology:sentinel", "after")  # the new primary takes writes
    assert servers[new].client().get("topology:sentinel") == "after"
    after.close()


@pytest.mark.parametrize(
    "make",
    [
        lambda: LocalCluster(primaries=2),
        lambda: LocalCluster(replicas_per_primary=-1),
        lambda: LocalSentinel(replicas=0),
        lambda: LocalSentinel(sentinels=3, quorum=4),
    ],
    ids=["2 primaries", "negative replicas", "no replica", "quorum above sentinels"],
)
def test_impossible_topologies_are_refused_before_anything_starts(make):
    with pytest.raises(ValidationError, match="needs"):
        make()
