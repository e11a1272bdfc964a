"""Rate limits, declared on views and enforced by the current application's limiter.

Each app gets its own Flask-Limiter (its storage from RATELIMIT_STORAGE_URI: memory for the
embedded set-up, Redis shared by all web processes in production), so several apps in one
process (tests, workers) never share counters by accident.
"""
from __future__ import annotations

from functools import wraps

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


class RateLimits:
    def limit(self, value):
        """Decorator: limit this view (value: a limit string or a callable returning one)."""
        def decorate(view):
            @wraps(view)
            def limited(*args, **kwargs):
                limiter: Limiter = current_app.extensions["rate_limits"]
                wrapped = limiter.__dict__.setdefault("_orchestrator_views", {}).get(view)
                if wrapped is None:
                    wrapped = limiter._orchestrator_views[view] = limiter.limit(value)(view)
                return wrapped(*args, **kwargs)

            return limited

        return decorate

    def init_app(self, app: Flask) -> Limiter:
        limiter = Limiter(get_remote_address, app=app, default_limits=[])
        app.extensions["rate_limits"] = limiter
        return limiter


limiter = RateLimits()
