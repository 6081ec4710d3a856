"""Pickle serialization (Alsek 1.3.2's ``BinarySerializer``).

Stores any picklable Python object (tuples stay tuples, sets stay sets). Only use it when every
process that writes to the backend is trusted: unpickling runs code chosen by the writer.
"""

from __future__ import annotations

import pickle
from typing import Any

from alsek.adapters.serialization.compression import compressed, decompressed
from alsek.domain.model.errors import SerializationError
from alsek.ports.serializer import Serializer


class BinarySerializer(Serializer):
    """Encodes values with :mod:`pickle`.

    Args:
        compression_level: gzip values at this level (1-9) when that makes them smaller; None
            (default): never. Either form is always read.
    """

    def forward(self, obj: Any) -> bytes | str:
        """Pickle ``obj``.

        Raises:
            SerializationError: if ``obj`` cannot be pickled.
        """
        try:
            data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            raise SerializationError(f"cannot pickle: {error}") from error
        if self.compression_level is None:
            return data
        return compressed(data, self.compression_level)

    def reverse(self, data: bytes | str) -> Any:
        """Unpickle ``data``.

        Raises:
            SerializationError: if ``data`` is not a pickle.
        """
        try:
            return pickle.loads(decompressed(data))  # type: ignore[arg-type]  # noqa: S301
        except Exception as error:
            raise SerializationError(f"cannot unpickle: {error}") from error
