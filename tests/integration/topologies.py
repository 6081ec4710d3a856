"""Session fixtures of local Redis topologies (registered by ``conftest.py``).

Each topology starts the first time a test asks for it and stops at the end of the session; like
``redis_server``, it is skipped locally and failed in CI when it cannot start.

Fixtures:

* ``local_cluster``: a :class:`LocalCluster` of 3 primaries with 1 replica each. Seed clients
  with ``local_cluster.urls`` or use ``local_cluster.client()``. Tests share it: use keys of your
  own; a test may fail over a primary (the set of primaries changes, never their number).
* ``local_sentinel``: a :class:`LocalSentinel` (service ``alsek``, 1 primary, 1 replica, 3
  sentinels, ``min-replicas-to-write 1`` as a production set should have). Ask
  ``local_sentinel.master_address()`` for the primary: a test may fail over. Do not stop the
  replica: the primary refuses writes without it.

Example::

    def test_on_sentinel(local_sentinel):
        primary = local_sentinel.sentinel_client().master_for(local_sentinel.service_name)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from alsek.adapters.redis import LocalCluster, LocalSentinel
from alsek.domain.model.errors import AlsekError


def _skip_or_fail(reason: str) -> None:
    # Imported here: conftest imports this module.
    from tests.integration.conftest import skip_or_fail

    skip_or_fail(reason)


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    """A local Redis Cluster (3 primaries, 1 replica each) for the whole session."""
    cluster = LocalCluster(primaries=3, replicas_per_primary=1)
    try:
        cluster.start()
    except AlsekError as error:
        _skip_or_fail(f"cannot start a local Redis Cluster: {error}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def local_sentinel() -> Iterator[LocalSentinel]:
    """A local Sentinel set (1 primary, 1 replica, 3 sentinels; a primary writes only with its
    replica connected) for the whole session."""
    topology = LocalSentinel(replicas=1, sentinels=3, service_name="alsek", min_replicas_to_write=1)
    try:
        topology.start()
    except AlsekError as error:
        _skip_or_fail(f"cannot start a local Redis Sentinel set: {error}")
    yield topology
    topology.stop()
