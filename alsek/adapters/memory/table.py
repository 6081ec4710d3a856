"""Key-value storage with millisecond expiry and Redis-style glob matching.

Nothing here locks or serializes: the in-memory backend holds its lock around every call and
stores values already encoded, exactly as Redis would hold them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Raw = bytes | str


def expiry(now_ms: int, ttl: int | None) -> int | None:
    """The expiry time of a value stored at ``now_ms`` for ``ttl`` ms (None: never)."""
    return None if ttl is None else now_ms + ttl


class KeyValueTable:
    """Encoded values under full names, each with an optional expiry time (ms since the epoch).

    An expired entry is invisible to every method and dropped lazily when touched.
    """

    def __init__(self) -> None:
        self._values: dict[str, tuple[Raw, int | None]] = {}

    def get(self, key: str, now_ms: int) -> Raw | None:
        """The live value under ``key``, or None."""
        entry = self._values.get(key)
        if entry is None:
            return None
        raw, expires_at = entry
        if expires_at is not None and expires_at <= now_ms:
            del self._values[key]
            return None
        return raw

    def exists(self, key: str, now_ms: int) -> bool:
        """Whether ``key`` holds a live value."""
        return self.get(key, now_ms) is not None

    def put(self, key: str, raw: Raw, expires_at: int | None = None) -> None:
        """Store ``raw`` under ``key``, replacing any value and its expiry."""
        self._values[key] = (raw, expires_at)

    def pop(self, key: str, now_ms: int) -> Raw | None:
        """Remove ``key``; return the live value it held, or None."""
        raw = self.get(key, now_ms)
        self._values.pop(key, None)
        return raw

    def expires_at(self, key: str, now_ms: int) -> int | None:
        """The expiry time of the live value under ``key`` (None: missing or never expires)."""
        if self.get(key, now_ms) is None:
            return None
        return self._values[key][1]

    def items(self, prefix: str, now_ms: int) -> list[tuple[str, Raw]]:
        """Every live ``(key, value)`` whose key starts with ``prefix``."""
        found = ((key, self.get(key, now_ms)) for key in self.keys(prefix, now_ms))
        return [(key, raw) for key, raw in found if raw is not None]

    def keys(self, prefix: str, now_ms: int) -> list[str]:
        """Every live key that starts with ``prefix``."""
        found = []
        for key in list(self._values):
            if key.startswith(prefix) and self.get(key, now_ms) is not None:
                found.append(key)
        return found


def glob_prefix_matcher(pattern: str) -> Callable[[str], bool]:
    """A predicate telling whether a name starts with the Redis glob ``pattern``.

    Supports ``*``, ``?``, ``[abc]``, ``[^abc]``, ``[a-z]`` and backslash escapes, like Redis'
    ``SCAN MATCH`` with a trailing ``*``.
    """
    regex = re.compile(_glob_to_regex(pattern), re.DOTALL)
    return lambda name: regex.match(name) is not None


def _glob_to_regex(pattern: str) -> str:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char == "[":
            text, index = _glob_class(pattern, index)
            parts.append(text)
            continue
        else:
            parts.append(re.escape(char))
        index += 1
    return "".join(parts)


def _glob_class(pattern: str, start: int) -> tuple[str, int]:
    """Translate the ``[...]`` class opening at ``start``; return it and the index after it."""
    end = pattern.find("]", start + 1)
    if end == -1:  # an unclosed bracket matches itself, as in Redis
        return re.escape("["), start + 1
    body = pattern[start + 1 : end]
    negate = body.startswith("^")
    if negate:
        body = body[1:]
    escaped = "".join("\\" + c if c in "\\]^[" else c for c in body)
    return f"[{'^' if negate else ''}{escaped}]", end + 1
