"""Adapters: the outside world (Redis, memory, JSON, apscheduler, threads and processes)."""
