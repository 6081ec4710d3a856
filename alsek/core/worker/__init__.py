"""Tour import paths for worker pools."""

from alsek.app.worker.process_pool import ProcessWorkerPool
from alsek.app.worker.thread_pool import ThreadWorkerPool

__all__ = ["ProcessWorkerPool", "ThreadWorkerPool"]
