"""The JSON API (API.md): thin views that parse input, call one service, shape the output."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from . import errors, procedures, dossiers, tasks, reference, auth, operations  # noqa: E402,F401  (routes register on bp)
