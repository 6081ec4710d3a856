"""The behaviour contract of the storage port (``alsek.ports.backend.Backend``), on both facets.

Subclass :class:`BackendContract` once per adapter and provide:

* fixture ``clock``: a :class:`tests.contract.fakes.FakeClock` (``now_ms()``, ``advance(ms)``);
* fixture ``backend``: a fresh, empty backend built with that clock (default JSON serializer),
  cleaned up by the fixture;
* hook ``write_raw(backend, name, raw)``: store raw bytes under a short name, bypassing the
  serializer (to plant corrupt bodies).

Two hooks have defaults that an adapter may override:

* ``make_sibling(backend, namespace)``: a second backend on the same store under another
  namespace (default: a shallow copy with ``namespace`` replaced);
* ``let_ttl_elapse(clock, ms)``: make ``ms`` of key TTL pass (default: advance the fake clock;
  Redis expires keys on its own clock, so its subclass also lets real time pass).

The rules live by facet: the message queue (``queue_*_contract.py``, lease owners in
``queue_owner_contract.py``, ``model_contract.py``), the
key-value and pub/sub store (``keyvalue_contract.py``) and the values the tour stores
(``tour_values_contract.py``). Every wait in them is bounded; nothing sleeps to paper over a race.
"""

from __future__ import annotations

from tests.contract.keyvalue_contract import KeyValueContract
from tests.contract.model_contract import ModelContract
from tests.contract.queue_admin_contract import AdminContract
from tests.contract.queue_claim_contract import ClaimContract
from tests.contract.queue_filter_contract import FilterContract
from tests.contract.queue_inspect_contract import InspectContract
from tests.contract.queue_owner_contract import OwnerContract
from tests.contract.queue_settle_contract import SettleContract
from tests.contract.queue_wait_contract import WaitContract
from tests.contract.support import ContractBase
from tests.contract.tour_values_contract import TourValuesContract

__all__ = ["BackendContract", "ContractBase"]


class BackendContract(
    ClaimContract,
    FilterContract,
    OwnerContract,
    SettleContract,
    AdminContract,
    InspectContract,
    WaitContract,
    KeyValueContract,
    TourValuesContract,
    ModelContract,
):
    """What every backend does. Subclass it with ``backend`` and ``clock`` fixtures."""
