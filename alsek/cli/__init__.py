"""The ``alsek`` command line: start worker pools for the tasks in a module or package."""
