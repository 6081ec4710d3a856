"""Alsek 1.3.2's import path of the asyncio status tracker."""

from alsek.domain.services.status_async import AsyncStatusTracker

__all__ = ["AsyncStatusTracker"]
