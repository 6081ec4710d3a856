"""Benchmark harness: alsek against RQ, Dramatiq, Celery and Huey on one Redis.

Run it with ``make bench`` or ``python -m bench.run --help``. Benchmarks are not
tests: CI never runs or times anything in this package.
"""
