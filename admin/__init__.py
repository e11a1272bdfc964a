"""The web back office for procedure designers and administrators.

Server-rendered pages over the same services the JSON API uses. The blueprint brings its own
extensions (Flask-Login sessions, Flask-WTF CSRF scoped to these pages, Flask-Babel with
Vietnamese by default) and initialises them on the app when it is registered, so the app
factory stays a plain composition root and the bearer-token API is untouched.

The blueprint lives in `blueprint.py`; importing this package sets it up (`setup.py`) and
imports every views module, so `bp` has all its routes when the factory registers it.
"""
from . import setup, formatting  # noqa: F401  (extensions, error handlers, number filters)
from . import views_auth, views_procedures, views_admin, views_operations, views_work, views_statistics, views_connectors, views_decisions, views_book, views_desk, views_inbox, views_absence, views_notifications, views_dossiers, views_account, views_message_templates, views_feedback  # noqa: F401,E501  (routes)
from .blueprint import bp  # noqa: F401  (registered by the app factory)
