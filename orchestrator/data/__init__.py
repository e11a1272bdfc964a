"""Data files shipped with the orchestrator (calendars, ...)."""
