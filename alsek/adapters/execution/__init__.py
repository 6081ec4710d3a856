"""Execution machinery for worker pools: interrupting threads, shared run slots, process lifecycle."""
