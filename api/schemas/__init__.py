"""Marshmallow schemas: the HTTP edge only (input validation and output shape), one module per
resource as the routes are (`api/dossiers.py` imports `api/schemas/dossiers.py`); `common.py`
holds what several share (times with the +07:00 offset, the error envelope).

Nothing is re-exported here: import a schema from its resource's module.
"""
