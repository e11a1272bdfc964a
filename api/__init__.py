"""The JSON API (API.md): thin views that parse input, call one service, shape the output.

Routes are declared on a flask-smorest blueprint with their marshmallow schemas, so the
OpenAPI document at /api/v1/openapi.json is generated from the code that validates.
"""
from flask_smorest import Blueprint

bp = Blueprint("api", __name__, description="Hồ sơ thủ tục hành chính: API cho hệ thống tích hợp")

from . import errors, procedures, dossiers, tasks, reference, auth, operations, integrations, lifecycle, documents, statistics  # noqa: E402,F401,E501

from .openapi import init_api  # noqa: E402,F401
