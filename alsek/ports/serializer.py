"""The serializer port: how values become bytes for the backend and back."""

from __future__ import annotations

from typing import Any

from alsek.domain.model.errors import ValidationError

_QUARTET = ("forward_engine", "encode", "decode", "reverse_engine")


class Serializer:
    """Base class for serializers. Subclass it and pass an instance to a backend.

    A subclass defines :meth:`forward` and :meth:`reverse`, or Alsek 1.3.2's four steps
    (``forward_engine`` then ``encode``; ``decode`` then ``reverse_engine``), from which the
    base builds them. Implementations raise
    :class:`alsek.domain.model.errors.SerializationError` for values they cannot encode or data
    they cannot decode.

    Args:
        compression_level: for serializers that compress (1-9; None: no compression).

    Raises:
        TypeError: at construction, if the subclass defines neither form.
    """

    def __init__(self, compression_level: int | None = None) -> None:
        if compression_level is not None and (
            not isinstance(compression_level, int) or not 0 <= compression_level <= 9
        ):
            raise ValidationError(
                f"compression_level must be None or 0-9, got {compression_level!r}"
            )
        self.compression_level = compression_level

    def __new__(cls, *args: Any, **kwargs: Any) -> Serializer:
        own = cls.forward is not Serializer.forward and cls.reverse is not Serializer.reverse
        steps = all(getattr(cls, name) is not getattr(Serializer, name) for name in _QUARTET)
        if not (own or steps):
            raise TypeError(
                f"{cls.__name__} must define forward() and reverse(), or forward_engine(), "
                "encode(), decode() and reverse_engine()"
            )
        return super().__new__(cls)

    def forward(self, obj: Any) -> bytes | str:
        """Encode ``obj`` for storage (default: ``encode(forward_engine(obj))``)."""
        return self.encode(self.forward_engine(obj))  # type: ignore[no-any-return]

    def reverse(self, data: bytes | str) -> Any:
        """Decode what :meth:`forward` produced (default: ``reverse_engine(decode(data))``)."""
        return self.reverse_engine(self.decode(data))

    # -- Alsek 1.3.2's four steps ------------------------------------------------------------

    def forward_engine(self, obj: Any) -> Any:
        """Turn ``obj`` into a serialized form (e.g. ``json.dumps``)."""
        raise NotImplementedError

    def encode(self, obj: Any) -> Any:
        """Post-process the serialized form (e.g. compress)."""
        raise NotImplementedError

    def decode(self, data: Any) -> Any:
        """Undo :meth:`encode`."""
        raise NotImplementedError

    def reverse_engine(self, data: Any) -> Any:
        """Undo :meth:`forward_engine`."""
        raise NotImplementedError
