"""Serializer adapters."""
