"""Alsek 1.3.2's import path of ``ExceptionDetails`` and ``parse_exception``."""

from alsek.domain.model.exception_details import ExceptionDetails, parse_exception

__all__ = ["ExceptionDetails", "parse_exception"]
