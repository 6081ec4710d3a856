"""Tour import path for serializers."""

from alsek.adapters.serialization.json import JsonSerializer
from alsek.ports.serializer import Serializer

__all__ = ["JsonSerializer", "Serializer"]
