"""Operators' services over a backend: inspection (read only) and administration."""
