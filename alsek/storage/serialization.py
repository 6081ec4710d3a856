"""Tour import path for serializers (with Alsek 1.3.2's ``BinarySerializer``)."""

from alsek.adapters.serialization.binary import BinarySerializer
from alsek.adapters.serialization.json import JsonSerializer
from alsek.ports.serializer import Serializer

__all__ = ["BinarySerializer", "JsonSerializer", "Serializer"]
