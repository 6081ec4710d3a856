"""The process worker pool: each running task in a process of its own."""
