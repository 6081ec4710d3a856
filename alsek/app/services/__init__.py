"""Application services: read and steer a running alsek deployment (queues, workers, dead
letters), for the CLI and the dashboard."""
