"""Optional gzip compression of stored values (Alsek 1.3.2's ``compression_level``).

A compressed value is ``GZIP_MARK`` followed by the gzip bytes; it is kept only when smaller than
the plain value. Plain JSON never starts with the mark (a NUL byte), so readers tell them apart.
"""

from __future__ import annotations

import gzip
import zlib

from alsek.domain.model.errors import SerializationError

GZIP_MARK = b"\x00gz"


def compressed(data: bytes | str, level: int) -> bytes | str:
    """``data`` gzipped at ``level`` and marked, when that is smaller; else ``data``."""
    raw = data.encode() if isinstance(data, str) else data
    packed = GZIP_MARK + gzip.compress(raw, compresslevel=level, mtime=0)
    return packed if len(packed) < len(raw) else data


def decompressed(data: bytes | str) -> bytes | str:
    """``data`` with its compression (if any) undone.

    Raises:
        SerializationError: if a marked value is not valid gzip.
    """
    if not (isinstance(data, bytes) and data.startswith(GZIP_MARK)):
        return data
    try:
        return gzip.decompress(data[len(GZIP_MARK) :])
    except (OSError, EOFError, zlib.error) as error:
        raise SerializationError(f"cannot decompress a stored value: {error}") from error
