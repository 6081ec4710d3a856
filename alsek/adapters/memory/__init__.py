"""The in-memory backend: every storage operation in one process, for tests and single-process use.

Example:
    >>> from alsek.adapters.memory import InMemoryBackend
    >>> backend = InMemoryBackend()
    >>> backend.set("greeting", "hello")
    >>> backend.get("greeting")
    'hello'
"""

from alsek.adapters.memory.backend import InMemoryBackend
from alsek.adapters.memory.keyvalue import MemoryKeyValueStore
from alsek.adapters.memory.queue import MemoryMessageQueue
from alsek.adapters.memory.store import MemoryStore

__all__ = ["InMemoryBackend", "MemoryKeyValueStore", "MemoryMessageQueue", "MemoryStore"]
