"""Tour import path for tools: iterating over results."""

from alsek.domain.services.result_pool import ResultPool

__all__ = ["ResultPool"]
