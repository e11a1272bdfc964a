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
    def limit(self, value, **options):
        """Decorator: limit this view (value: a limit string or a callable returning one; options
        as Flask-Limiter's, e.g. key_func). Stacked limits on one view are checked together."""
        def decorate(view):
            rules = getattr(view, "_rate_rules", None)
            if rules is not None:  # already limited: add the rule to the same check
                rules.append((value, options))
                return view

            @wraps(view)
            def limited(*args, **kwargs):
                limiter: Limiter = current_app.extensions["rate_limits"]
                cache = limiter.__dict__.setdefault("_orchestrator_views", {})
                wrapped = cache.get(limited)
                if wrapped is None:
                    wrapped = view
                    for rule_value, rule_options in limited._rate_rules:
                        wrapped = limiter.limit(rule_value, **rule_options)(wrapped)
                    cache[limited] = wrapped
                return wrapped(*args, **kwargs)

            limited._rate_rules = [(value, options)]
            return limited

        return decorate

    def init_app(self, app: Flask) -> Limiter:
        limiter = Limiter(get_remote_address, app=app, default_limits=[])
        app.extensions["rate_limits"] = limiter
        return limiter


limiter = RateLimits()
