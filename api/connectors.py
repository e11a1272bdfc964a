"""Administrators' connectors: the HTTP calls service tasks make."""
from __future__ import annotations

from flask import url_for

from orchestrator.extensions import db
from orchestrator.services import connectors as service

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .schemas.connectors import ConnectorInSchema, ConnectorListSchema, ConnectorSchema


def _definition(args: dict, **override) -> service.Definition:
    return service.Definition(**{**args, **override})


@bp.get("/admin/connectors")
@authenticated
@bp.response(200, ConnectorListSchema)
@documented(401, 403)
def connectors():
    """The connectors of the administrator's scopes (secret header values never shown)."""
    return {"items": service.list_connectors(db.session, current_actor())}


@bp.post("/admin/connectors")
@authenticated
@bp.arguments(ConnectorInSchema)
@bp.response(201, ConnectorSchema)
@documented(400, 401, 403, 409, 422)
def create_connector(args):
    """Register a connector of a scope (a province code or VN) the administrator administers."""
    connector = service.create(db.session, current_actor(), _definition(args))
    db.session.commit()
    return connector, {"Location": url_for("api.connector", connector_id=connector.id)}


@bp.get("/admin/connectors/<id:connector_id>")
@authenticated
@bp.response(200, ConnectorSchema)
@documented(401, 403, 404)
def connector(connector_id: int):
    """One connector."""
    return service.get_connector(db.session, current_actor(), connector_id)


@bp.put("/admin/connectors/<id:connector_id>")
@authenticated
@bp.arguments(ConnectorInSchema)
@bp.response(200, ConnectorSchema)
@documented(400, 401, 403, 404, 422)
def update_connector(args, connector_id: int):
    """Replace a connector's definition (its name and scope stay); a secret header given empty
    keeps its stored value."""
    connector = service.update(db.session, current_actor(), connector_id, _definition(args))
    db.session.commit()
    return connector


@bp.post("/admin/connectors/<id:connector_id>/disable")
@authenticated
@bp.response(200, ConnectorSchema)
@documented(401, 403, 404)
def disable_connector(connector_id: int):
    """Stop calls through a connector (a queued call then fails into an incident)."""
    connector = service.set_active(db.session, current_actor(), connector_id, False)
    db.session.commit()
    return connector


@bp.post("/admin/connectors/<id:connector_id>/enable")
@authenticated
@bp.response(200, ConnectorSchema)
@documented(401, 403, 404)
def enable_connector(connector_id: int):
    """Allow calls through a connector again."""
    connector = service.set_active(db.session, current_actor(), connector_id, True)
    db.session.commit()
    return connector
