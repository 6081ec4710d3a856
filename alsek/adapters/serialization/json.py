"""JSON serialization (orjson when installed, else the standard library)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from alsek.domain.model.errors import SerializationError
from alsek.ports.serializer import Serializer

orjson: ModuleType | None
try:  # orjson is an optional speed-up
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None


class JsonSerializer(Serializer):
    """Encodes values as JSON. Tuples come back as lists; keys must be strings."""

    def forward(self, obj: Any) -> bytes | str:
        """Encode ``obj`` as JSON.

        Raises:
            SerializationError: naming the type that JSON cannot hold.
        """
        try:
            if orjson is not None:
                return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
            return json.dumps(obj, separators=(",", ":"), allow_nan=True)
        except (TypeError, ValueError, OverflowError) as error:
            raise SerializationError(f"cannot encode as JSON: {error}") from error

    def reverse(self, data: bytes | str) -> Any:
        """Decode JSON text.

        Raises:
            SerializationError: if ``data`` is not valid JSON.
        """
        try:
            if orjson is not None:
                return orjson.loads(data)
            return json.loads(data)
        except (TypeError, ValueError) as error:
            raise SerializationError(f"cannot decode JSON: {error}") from error
