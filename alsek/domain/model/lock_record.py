"""How a lock is stored, and giving one up: shared by ``Lock`` and ``Message.release_lock``.

A lock is the record ``{"owner", "expires_at"}`` under ``locks:<name>``; its release is announced
on the channel of the same name. :func:`release_owned` works on any store with the key-value
port's ``get``, ``delete_if_equal`` and ``publish`` (passed in: the model imports no port).
"""

from __future__ import annotations

from typing import Any


def lock_name(name: str) -> str:
    """The storage name (and release channel) of the lock called ``name``."""
    return f"locks:{name}"


def release_owned(store: Any, name: str, owner_id: str) -> bool:
    """Delete lock ``name`` from ``store`` if ``owner_id`` holds it, and announce the release.

    Returns:
        Whether ``owner_id`` held it (False also when it expired since it was read).
    """
    stored = lock_name(name)
    record = store.get(stored, default=None)
    if not isinstance(record, dict) or record.get("owner") != owner_id:
        return False
    if not store.delete_if_equal(stored, record):
        return False
    store.publish(stored, {"released": name})
    return True
