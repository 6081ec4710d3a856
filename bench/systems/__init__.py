"""One adapter per task queue under test, all with the :class:`~bench.systems.base.System` interface."""

from __future__ import annotations

import importlib

from bench.systems.base import System

#: name -> "module:Class"; imported lazily so one broken system cannot break the others.
REGISTRY: dict[str, str] = {
    "alsek": "bench.systems.alsek_system:AlsekSystem",
    "alsek-reuse": "bench.systems.alsek_system:AlsekReuseSystem",
    "alsek-pinned": "bench.systems.alsek_system:AlsekPinnedSystem",
    "alsek-groups": "bench.systems.alsek_system:AlsekGroupsSystem",
    "alsek-free": "bench.systems.alsek_system:AlsekFreeSystem",
    "rq": "bench.systems.rq_system:RqSystem",
    "dramatiq": "bench.systems.dramatiq_system:DramatiqSystem",
    "celery": "bench.systems.celery_system:CelerySystem",
    "huey": "bench.systems.huey_system:HueySystem",
}

#: Systems run by default, in this order (alsek first).
DEFAULT_ORDER = [
    "alsek", "alsek-free", "alsek-reuse", "alsek-pinned", "alsek-groups",
    "rq", "dramatiq", "celery", "huey",
]


def load(name: str) -> System:
    """Instantiate the system registered under ``name``."""
    module_name, _, class_name = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)()
