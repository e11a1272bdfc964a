"""Errors a use case reports; the HTTP layers map them to status codes and JSON bodies."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict | None = None, problems: list | None = None,
                 code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.problems = problems or []
        self.extra = extra or {}
        if code:
            self.code = code


class Invalid(ServiceError):
    status, code = 400, "invalid"


class Unauthenticated(ServiceError):
    status, code = 401, "unauthenticated"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class TooLarge(ServiceError):
    status, code = 413, "too_large"


class Rejected(ServiceError):
    status, code = 422, "rejected"


class TooManyAttempts(ServiceError):
    """Too many failed attempts (orchestrator/services/throttle.py): wait `retry_after` seconds."""
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
