"""The behaviour contract every storage backend keeps (subclass ``BackendContract``)."""
