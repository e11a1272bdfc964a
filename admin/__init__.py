"""The web back office for procedure designers and administrators (issue 4).

Server-rendered pages over the same services the JSON API uses. The blueprint brings its own
extensions (Flask-Login sessions, Flask-WTF CSRF scoped to these pages, Flask-Babel with
Vietnamese by default) and initialises them on the app when it is registered, so the app
factory stays a plain composition root and the bearer-token API is untouched.
"""
from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")

from . import setup  # noqa: E402,F401  (extensions, error handlers)
from . import views_auth, views_procedures, views_admin, views_operations, views_work, views_statistics  # noqa: E402,F401,E501  (routes)
