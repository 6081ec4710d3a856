"""The thread worker pool: process groups of worker threads, scaled with the load."""
