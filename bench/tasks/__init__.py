"""Task modules for the benchmark, one per system, all doing the same work.

Every system gets two tasks: ``noop`` (one ``INCR`` of :data:`DONE_KEY`, so the
harness can count completions) and ``stamp`` (one ``RPUSH`` of the time the task
body started, for the enqueue-to-start latency). The Redis URL comes from the
``BENCH_REDIS_URL`` environment variable, which the harness sets for itself and
for every worker it starts.
"""
