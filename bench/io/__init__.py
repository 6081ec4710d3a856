"""The I/O-bound benchmark: many tasks that each await 100 ms, on alsek and on the asyncio-first
peers (arq, SAQ, taskiq), one Redis, one run. Run with ``python -m bench.io`` from
``bench/.env-io`` (``make bench`` builds it)."""
