"""Tour import path for the thread worker pool."""

from alsek.worker.thread.pool import ThreadWorkerPool

__all__ = ["ThreadWorkerPool"]
