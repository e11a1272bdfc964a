"""The JSON API (docs/api.md): thin views that parse input, call one service, shape the output.

Routes are declared on a flask-smorest blueprint with their marshmallow schemas, so the
OpenAPI document at /api/v1/openapi.json is generated from the code that validates.

The blueprint lives in `blueprint.py`, which imports none of the route modules; importing this
package imports them all, so the blueprint has every route when `init_api` registers it.
"""
from . import errors, json_limits, procedures, dossiers, tasks, reference, auth, operations, integrations, lifecycle, documents, statistics, connectors, tracking_book, notifications  # noqa: F401,E501
from .openapi import init_api  # noqa: F401
