"""Runnable examples. ``make demo`` runs :mod:`examples.demo`."""
