"""JSON serialization (orjson when installed, else the standard library)."""

from __future__ import annotations

import json
import math
from types import ModuleType
from typing import Any

from alsek.adapters.serialization.compression import compressed, decompressed
from alsek.domain.model.errors import SerializationError
from alsek.ports.serializer import Serializer

orjson: ModuleType | None
try:  # orjson is an optional speed-up
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None


_OUT_OF_RANGE = "Out of range float values"  # the standard library's ValueError for NaN


class JsonSerializer(Serializer):
    """Encodes values as standard JSON, with or without orjson installed.

    Tuples come back as lists; int, float, bool and None keys come back as strings. NaN and
    ±Infinity are stored as ``null`` (JSON has no such numbers; orjson's rule, followed by the
    standard library path too, so that what one process writes every other one reads).

    Args:
        compression_level: gzip values at this level (1-9) when that makes them smaller
            (Alsek 1.3.2's option); None (default): never. Either form is always read.
    """

    def forward(self, obj: Any) -> bytes | str:
        """Encode ``obj`` as JSON (gzipped when ``compression_level`` is set and it helps).

        Raises:
            SerializationError: naming the type that JSON cannot hold (sets, bytes, objects).
        """
        data = self._json(obj)
        if self.compression_level is None:
            return data
        return compressed(data, self.compression_level)

    def _json(self, obj: Any) -> bytes | str:
        try:
            if orjson is not None:
                return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
            try:
                return json.dumps(obj, separators=(",", ":"), allow_nan=False)
            except ValueError as error:
                if not str(error).startswith(_OUT_OF_RANGE):
                    raise
                return json.dumps(_finite(obj), separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError, OverflowError) as error:
            raise SerializationError(f"cannot encode as JSON: {error}") from error

    def reverse(self, data: bytes | str) -> Any:
        """Decode JSON text.

        Raises:
            SerializationError: if ``data`` is not valid JSON.
        """
        data = decompressed(data)
        try:
            if orjson is not None:
                return orjson.loads(data)
            return json.loads(data)
        except (TypeError, ValueError) as error:
            raise SerializationError(f"cannot decode JSON: {error}") from error


def _finite(obj: Any) -> Any:
    """``obj`` with every NaN and ±Infinity replaced by None (only after the standard library
    refused one: never on the common path)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(value) for value in obj]
    return obj
