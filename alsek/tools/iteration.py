"""Alsek 1.3.2's import path of ``ResultPool``."""

from alsek.domain.services.result_pool import ResultPool

__all__ = ["ResultPool"]
