"""Use cases: plain Python functions that take a session and return domain objects."""
