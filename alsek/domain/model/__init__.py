"""Pure values and rules: messages, backoff, priority, callbacks, statuses and errors."""
