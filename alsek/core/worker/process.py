"""Tour import path for the process worker pool."""

from alsek.worker.process.pool import ProcessWorkerPool

__all__ = ["ProcessWorkerPool"]
