"""The serializer port: how values become bytes for the backend and back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Serializer(ABC):
    """Base class for serializers. Subclass it and pass an instance to a backend.

    Implementations raise :class:`alsek.domain.model.errors.SerializationError` for values they
    cannot encode or data they cannot decode.
    """

    @abstractmethod
    def forward(self, obj: Any) -> bytes | str:
        """Encode ``obj`` for storage."""

    @abstractmethod
    def reverse(self, data: bytes | str) -> Any:
        """Decode what :meth:`forward` produced."""
