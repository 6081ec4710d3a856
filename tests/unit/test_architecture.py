"""The layer rules of ARCHITECTURE.md §1, checked by walking the package's ASTs.

Each layer lists the alsek packages it may import (its own included); anything else is a
violation. The rules are data (:data:`LAYERS`), so one checker enforces all of them, and
:func:`test_the_checker_catches_a_violation_of_every_rule` proves it fails on deliberate breaches.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import alsek

PACKAGE = Path(alsek.__file__).parent
SHIMS = (
    "alsek.core", "alsek.storage", "alsek.tools", "alsek.exceptions", "alsek.defaults", "alsek.types",
    "alsek.utils",
)  # fmt: skip
MODEL, SERVICES, PORTS = "alsek.domain.model", "alsek.domain.services", "alsek.ports"
SHARED_ADAPTER_MODULES = (
    "alsek.adapters.codec", "alsek.adapters.composed", "alsek.adapters.clock",
    "alsek.adapters.threaded_async",
    "alsek.adapters.serialization",
)  # fmt: skip

#: Layer (a package prefix) -> the alsek packages its modules may import. Most specific first.
LAYERS: dict[str, tuple[str, ...]] = {
    MODEL: (MODEL,),
    PORTS: (MODEL, PORTS),
    SERVICES: (MODEL, PORTS, SERVICES),
    "alsek.adapters.redis": (MODEL, PORTS, "alsek.adapters.redis", *SHARED_ADAPTER_MODULES),
    "alsek.adapters.memory": (MODEL, PORTS, "alsek.adapters.memory", *SHARED_ADAPTER_MODULES),
    "alsek.adapters": (MODEL, PORTS, "alsek.adapters.scheduling", *SHARED_ADAPTER_MODULES),
    "alsek.worker": (MODEL, PORTS, SERVICES, "alsek.worker"),
    "alsek.app": (MODEL, PORTS, SERVICES, "alsek.adapters", "alsek.worker", "alsek.app"),
    "alsek.dashboard": (MODEL, PORTS, SERVICES, "alsek.app", "alsek.dashboard"),
}

#: Third-party packages the domain never imports (it is pure: stdlib and attrs).
FORBIDDEN_IN_DOMAIN = (
    "redis", "apscheduler", "click", "cattrs", "dependency_injector", "threading",
    "multiprocessing", "concurrent",
)  # fmt: skip

#: Standard modules that can read the clock or make ids, and the model modules allowed them.
CLOCK_AND_ID_MODULES = ("time", "uuid", "random", "secrets", "os", "datetime")
CLOCK_AND_ID_ALLOWED = {
    "alsek.domain.model.defaults": {"time", "os"},  # now and new ids (os.urandom) for messages
    "alsek.domain.model.message_fields": {"datetime"},  # formats timestamps it is given
}


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def parse_package(root: Path) -> dict[str, ast.Module]:
    """Every module under ``root`` (a package directory), by dotted name."""
    return {_module_name(p, root): ast.parse(p.read_text()) for p in root.rglob("*.py")}


def imports_of(tree: ast.Module) -> set[str]:
    """The modules ``tree`` imports (``from alsek import X`` counts as ``alsek.X``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "alsek":
                found.update(f"alsek.{alias.name}" for alias in node.names)
    return found


def _under(name: str, prefixes: tuple[str, ...] | set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _layer_of(name: str) -> str | None:
    return next((layer for layer in LAYERS if _under(name, (layer,))), None)


def is_shim(name: str) -> bool:
    """Whether ``name`` is one of the tour's re-export modules."""
    return _under(name, SHIMS)


def violations(modules: dict[str, ast.Module]) -> list[str]:
    """Every import against the layer rules, as ``"module -> import (rule)"`` lines."""
    found = []
    for name, tree in sorted(modules.items()):
        imports = imports_of(tree)
        found += [f"{name} -> {i} (root or shim)" for i in imports if _imports_shim(name, i)]
        layer = _layer_of(name)
        if layer is not None:
            allowed = LAYERS[layer]
            found += [
                f"{name} -> {i} ({layer} may import only {', '.join(allowed)})"
                for i in sorted(imports)
                if i.startswith("alsek.") and not is_shim(i) and not _under(i, allowed)
            ]
        if _under(name, ("alsek.domain",)):
            found += [
                f"{name} -> {i} (pure domain)" for i in imports if _under(i, FORBIDDEN_IN_DOMAIN)
            ]
        if _under(name, (MODEL,)):
            allowed_std = CLOCK_AND_ID_ALLOWED.get(name, set())
            found += [
                f"{name} -> {i} (clock or ids outside the allow-list)"
                for i in sorted(imports)
                if _under(i, CLOCK_AND_ID_MODULES) and i.split(".")[0] not in allowed_std
            ]
    return found


def _imports_shim(name: str, imported: str) -> bool:
    if name == "alsek" or is_shim(name):
        return False
    return imported == "alsek" or is_shim(imported)


MODULES = parse_package(PACKAGE)


def test_every_import_follows_the_layer_rules() -> None:
    assert violations(MODULES) == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("alsek.domain.model.bad", "from alsek.ports.queue import Claim"),
        ("alsek.domain.model.bad", "import time"),
        ("alsek.domain.model.message", "import uuid"),
        ("alsek.domain.services.bad", "from alsek.adapters.redis import RedisBackend"),
        ("alsek.domain.services.bad", "import threading"),
        ("alsek.ports.bad", "from alsek.domain.services.broker import Broker"),
        ("alsek.adapters.redis.bad", "from alsek.domain.services.lock import Lock"),
        ("alsek.adapters.redis.bad", "from alsek.adapters.memory import InMemoryBackend"),
        ("alsek.adapters.scheduling.bad", "from alsek.app.facade import use_settings"),
        ("alsek.worker.bad", "from alsek.app.container import Container"),
        ("alsek.app.bad", "from alsek.cli.main import main"),
        ("alsek.app.bad", "from alsek.core.task import task"),
        ("alsek.cli.bad", "from alsek import Broker"),
    ],
)
def test_the_checker_catches_a_violation_of_every_rule(module: str, source: str) -> None:
    planted = dict(MODULES)
    planted[module] = ast.parse(source)
    caught = violations(planted)
    assert len(caught) == 1 and caught[0].startswith(f"{module} -> "), caught


def test_the_checker_reads_a_package_from_disk(tmp_path: Path) -> None:
    package = tmp_path / "alsek"
    (package / "ports").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "ports" / "__init__.py").write_text("")
    (package / "ports" / "leak.py").write_text("from alsek.worker.feeder import Feeder\n")
    assert violations(parse_package(package)) == [
        "alsek.ports.leak -> alsek.worker.feeder (alsek.ports may import only "
        "alsek.domain.model, alsek.ports)"
    ]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if is_shim(n) or n == "alsek"))
def test_shims_contain_only_imports(name: str) -> None:
    for node in MODULES[name].body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring
        assert isinstance(node, ast.Assign), ast.dump(node)
        assert {t.id for t in node.targets if isinstance(t, ast.Name)} <= {"__all__", "__version__"}


def test_every_shim_export_is_the_canonical_object() -> None:
    for name in sorted(n for n in MODULES if is_shim(n) or n == "alsek"):
        module = importlib.import_module(name)
        for export in getattr(module, "__all__", []):
            obj = getattr(module, export)
            home = importlib.import_module(getattr(obj, "__module__", name) or name)
            assert getattr(home, getattr(obj, "__name__", export), obj) is obj, (name, export)


IMPORT_PROBE = """
import socket, threading, logging, os, pkgutil, importlib
def refuse(*a, **k):
    raise AssertionError("network use at import time")
socket.socket.connect = refuse
socket.create_connection = refuse
env_reads = []
class Env(dict):
    def __getitem__(self, k): env_reads.append(k); return super().__getitem__(k)
    def get(self, k, d=None): env_reads.append(k); return super().get(k, d)
for dependency in ("redis", "apscheduler.schedulers.background", "attrs", "cattrs", "orjson"):
    importlib.import_module(dependency)  # their own import-time habits are not ours to judge
os.environ = Env(os.environ)
handlers = list(logging.getLogger().handlers)
import alsek
for info in pkgutil.walk_packages(alsek.__path__, "alsek."):
    if not info.name.startswith(("alsek.cli", "alsek.app.settings")):
        importlib.import_module(info.name)
assert threading.active_count() == 1, threading.enumerate()
assert logging.getLogger().handlers == handlers
assert env_reads == [], env_reads
print("ok")
"""


def test_nothing_happens_at_import_time() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_every_module_is_importable() -> None:
    for info in pkgutil.walk_packages(alsek.__path__, "alsek."):
        importlib.import_module(info.name)
