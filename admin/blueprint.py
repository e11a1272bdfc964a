"""The back office's blueprint, in a module of its own: `setup.py` initialises its extensions and
error pages on it, the views modules add their routes, and none of them imports the package, so
the package's `__init__` can import them all without a loop."""
from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")
