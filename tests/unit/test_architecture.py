"""The layer rules of ARCHITECTURE.md §1, checked by walking the package's ASTs."""

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
FORBIDDEN_IN_DOMAIN = (
    "redis", "apscheduler", "click", "cattrs", "dependency_injector", "threading",
    "multiprocessing", "concurrent", "alsek.adapters", "alsek.app", "alsek.cli", "alsek.worker",
)  # fmt: skip
CLOCK_AND_ID_MODULE = "alsek.domain.model.defaults"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text()) for p in PACKAGE.rglob("*.py")}


def _imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "alsek":
                found.update(f"alsek.{alias.name}" for alias in node.names)
    return found


def _is_shim(name: str) -> bool:
    return any(name == s or name.startswith(s + ".") for s in SHIMS)


def _imports_any(imports: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {i for i in imports for p in prefixes if i == p or i.startswith(p + ".")}


MODULES = _modules()


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("alsek.domain")))
def test_domain_imports_no_infrastructure(name: str) -> None:
    assert not _imports_any(_imports(MODULES[name]), FORBIDDEN_IN_DOMAIN)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("alsek.ports")))
def test_ports_depend_only_on_the_domain_model(name: str) -> None:
    alsek_imports = {i for i in _imports(MODULES[name]) if i.startswith("alsek")}
    assert all(i.startswith(("alsek.domain.model", "alsek.ports")) for i in alsek_imports)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("alsek.adapters")))
def test_adapters_do_not_reach_up(name: str) -> None:
    assert not _imports_any(_imports(MODULES[name]), ("alsek.app", "alsek.cli", "alsek.worker"))


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != "alsek" and not _is_shim(n)))
def test_nothing_imports_the_root_or_the_shims(name: str) -> None:
    imports = _imports(MODULES[name])
    assert "alsek" not in imports
    assert not {i for i in imports if _is_shim(i)}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _is_shim(n) or n == "alsek"))
def test_shims_contain_only_imports(name: str) -> None:
    for node in MODULES[name].body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring
        assert isinstance(node, ast.Assign), ast.dump(node)
        assert {t.id for t in node.targets if isinstance(t, ast.Name)} <= {"__all__", "__version__"}


def _calls_clock_or_uuid(tree: ast.Module) -> list[str]:
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            text = ast.unparse(node.func)
            if text.startswith(("time.", "uuid.", "datetime.now", "datetime.utcnow")):
                calls.append(text)
    return calls


@pytest.mark.parametrize(
    "name",
    sorted(n for n in MODULES if n.startswith("alsek.domain.model") and n != CLOCK_AND_ID_MODULE),
)
def test_domain_model_takes_time_and_ids_as_arguments(name: str) -> None:
    assert _calls_clock_or_uuid(MODULES[name]) == []


def test_every_shim_export_is_the_canonical_object() -> None:
    for name in sorted(n for n in MODULES if _is_shim(n) or n == "alsek"):
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
