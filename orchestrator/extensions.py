"""Flask extensions, created unbound and initialised by the app factory: the database (`db`,
`migrate`) and the rate limiter (`limiter`, initialised after every view module is imported)."""
from __future__ import annotations

from functools import wraps

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.orm import DeclarativeBase

from .settings import Settings


class Base(DeclarativeBase):
    pass


class AppSession(FlaskSession):
    """Flask-SQLAlchemy's session, carrying the application's `Settings` in `session.info`, read
    from its configuration when the session opens: services read them there, never from Flask."""

    def __init__(self, db, **kwargs):
        super().__init__(db, **kwargs)
        self.info["settings"] = Settings.from_config(current_app.config)


class RateLimits:
    """Rate limits, declared on views and enforced by the current application's limiter.

    Each app gets its own Flask-Limiter (its storage from RATELIMIT_STORAGE_URI: memory for the
    embedded set-up, Redis shared by all web processes in production), so several apps in one
    process (tests, workers) never share counters by accident. The limits themselves are read from
    the app's configuration when a request comes (the views pass callables)."""

    def limit(self, value, **options):
        """Decorator: limit this view (value: a limit string or a callable returning one; options
        as Flask-Limiter's, e.g. key_func, and `shared=True` with a `scope`: one bucket for every
        view with that scope). Stacked limits on one view are checked together."""
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
                        options = dict(rule_options)
                        declare = limiter.shared_limit if options.pop("shared", False) else limiter.limit
                        wrapped = declare(rule_value, **options)(wrapped)
                    cache[limited] = wrapped
                return wrapped(*args, **kwargs)

            limited._rate_rules = [(value, options)]
            return limited

        return decorate

    def init_app(self, app: Flask) -> Limiter:
        # Registered before the limiter's own hook, so it runs after it (Flask runs them in reverse):
        # the limiter adds Retry-After to every answer; it only means something on a 429.
        app.after_request(_retry_after_only_on_429)
        limiter = Limiter(get_remote_address, app=app, default_limits=[])
        app.extensions["rate_limits"] = limiter
        return limiter


def _retry_after_only_on_429(response):
    """Keep X-RateLimit-Limit/-Remaining/-Reset on every limited answer, Retry-After on 429 only."""
    if response.status_code != 429:
        response.headers.pop("Retry-After", None)
    return response


db = SQLAlchemy(model_class=Base, session_options={"class_": AppSession})
migrate = Migrate()
limiter = RateLimits()
