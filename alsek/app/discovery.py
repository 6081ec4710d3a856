"""Finding tasks for the CLI: import a module, a file or a whole package, collect its tasks.

A target is a module in the current directory (``my_tasks``, or the file ``my_tasks.py``), a dotted
path (``my_project.my_tasks``), or a package (``my_project``), whose modules are imported
recursively. Every :class:`Task` found at module level is collected.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

from alsek.domain.model.errors import AlsekError
from alsek.domain.services.task import Task

log = logging.getLogger("alsek.discovery")


class TaskDiscoveryError(AlsekError):
    """Raised when a target cannot be imported or holds no tasks."""


def _module_name(target: str) -> str:
    """The module to import for ``target``, putting its directory on ``sys.path`` first."""
    path = Path(target)
    if target.endswith(".py") or os.sep in target:
        if not path.exists():
            raise TaskDiscoveryError(f"no such file or directory: {target!r}")
        path = path.resolve()
        directory, name = (path.parent, path.stem if path.suffix == ".py" else path.name)
    else:
        directory, name = Path.cwd(), target
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    return name


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise TaskDiscoveryError(f"cannot import {name!r}: {error}") from error
    except Exception as error:  # the module itself raised while being imported
        raise TaskDiscoveryError(
            f"importing {name!r} raised {type(error).__name__}: {error}"
        ) from error


def import_target(target: str) -> list[ModuleType]:
    """Import ``target`` (and, for a package, every module in it, recursively).

    Raises:
        TaskDiscoveryError: if a module cannot be imported.
    """
    if not target or not target.strip():
        raise TaskDiscoveryError("no target given")
    root = _import(_module_name(target.strip()))
    modules = [root]
    if hasattr(root, "__path__"):
        for info in pkgutil.walk_packages(root.__path__, f"{root.__name__}."):
            modules.append(_import(info.name))
    return modules


def collect_tasks(modules: list[ModuleType]) -> list[Task]:
    """The tasks defined at module level in ``modules`` (each once, in order found)."""
    found: dict[int, Task] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, Task) and id(value) not in found:
                found[id(value)] = value
    return list(found.values())


def discover_tasks(target: str) -> list[Task]:
    """The tasks of ``target`` (a module, a file or a package).

    Raises:
        TaskDiscoveryError: if it cannot be imported or defines no task.
    """
    tasks = collect_tasks(import_target(target))
    if not tasks:
        raise TaskDiscoveryError(f"no tasks found in {target!r}")
    log.info("Found %s task(s) in %r: %s", len(tasks), target, ", ".join(t.name for t in tasks))
    return tasks
