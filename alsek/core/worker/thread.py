"""Tour import path for the thread worker pool."""

from alsek.app.worker.thread_pool import ThreadWorkerPool

__all__ = ["ThreadWorkerPool"]
