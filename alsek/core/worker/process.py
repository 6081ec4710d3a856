"""Tour import path for the process worker pool."""

from alsek.app.worker.process_pool import ProcessWorkerPool

__all__ = ["ProcessWorkerPool"]
