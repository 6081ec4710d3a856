"""Tour import paths for worker pools."""

from alsek.worker.process.pool import ProcessWorkerPool
from alsek.worker.thread.pool import ThreadWorkerPool

__all__ = ["ProcessWorkerPool", "ThreadWorkerPool"]
