"""The application layer: composition root, the task decorator, worker pools and settings."""
