"""Integrator routes: keys (administrators), webhook subscriptions (integrators), deliveries."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, url_for

from orchestrator.extensions import db
from orchestrator.services import integrations as service

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .schemas.common import encode_cursor
from .schemas.integrations import (
    DeliveryListSchema, IntegratorListSchema, KeyRequestSchema, NewKeySchema, NewSubscriptionSchema, RotateSchema,
    SubscribeSchema, SubscriptionListSchema, SubscriptionSchema, ApiKeySchema,
)
from .schemas.webhooks import DeliveryQuerySchema, OwnDeliveryListSchema, RedeliverySchema
from .views import DeliveryView, IntegratorView, NewKeyView


def _with_secret(key, secret) -> NewKeyView:
    return NewKeyView(key, secret)


@bp.get("/admin/integrators")
@authenticated
@bp.response(200, IntegratorListSchema)
@documented(401, 403)
def list_integrators():
    """Integrators with their keys (never the secrets), of the administrator's scope (all for VN)."""
    rows = service.integrators(db.session, current_actor())
    return {"items": [IntegratorView(integrator, service.keys_of(db.session, integrator)) for integrator in rows]}


@bp.post("/admin/integrators/keys")
@authenticated
@bp.arguments(KeyRequestSchema)
@bp.response(201, NewKeySchema)
@documented(400, 401, 403)
def issue_key(args):
    """Issue a key to the integrator of that name in the scope (registered if new there), scoped to
    provinces within that scope and to permissions. A name used in another scope is another integrator."""
    key, secret = service.issue_key(db.session, current_actor(), args["name"], args["provinces"],
                                    args["permissions"], args.get("expires_at"), args.get("scope"),
                                    args.get("events"))
    db.session.commit()
    return _with_secret(key, secret)


@bp.post("/admin/keys/<id:key_id>/rotate")
@authenticated
@bp.arguments(RotateSchema)
@bp.response(201, NewKeySchema)
@documented(400, 401, 403, 404, 409)
def rotate_key(args, key_id: int):
    """A new key with the same scope; the old one keeps working for `overlap_hours`."""
    key, secret = service.rotate_key(db.session, current_actor(), key_id, timedelta(hours=args["overlap_hours"]))
    db.session.commit()
    return _with_secret(key, secret)


@bp.post("/admin/keys/<id:key_id>/revoke")
@authenticated
@bp.response(200, ApiKeySchema)
@documented(401, 403, 404)
def revoke_key(key_id: int):
    """Stop a key at once."""
    key = service.revoke_key(db.session, current_actor(), key_id)
    db.session.commit()
    return key


@bp.get("/admin/integrators/<id:integrator_id>/deliveries")
@authenticated
@bp.response(200, DeliveryListSchema)
@documented(401, 403, 404)
def deliveries(integrator_id: int):
    """Recent webhook deliveries of an integrator: attempts, state and last error."""
    rows = service.deliveries(db.session, current_actor(), integrator_id)
    return {"items": [_delivery_view(delivery, job) for delivery, job in rows]}


def _delivery_view(delivery, job) -> DeliveryView:
    return DeliveryView(delivery, attempts=job.attempts if job else 0, state=service.delivery_state(delivery, job),
                        last_error=job.last_error if job else None)


@bp.get("/webhooks")
@authenticated
@bp.response(200, SubscriptionListSchema)
@documented(401, 403)
def list_webhooks():
    """The calling key's webhook subscriptions."""
    return {"items": service.subscriptions(db.session, current_actor())}


@bp.post("/webhooks")
@authenticated
@bp.arguments(SubscribeSchema)
@bp.response(201, NewSubscriptionSchema)
@documented(400, 401, 403, 422)
def subscribe(args):
    """Subscribe a URL for the calling key: the events of its provinces, signed with the returned
    secret. A URL refused (scheme, user information, backslash, non-public address) is 422 naming `url`."""
    sub, secret = service.subscribe(db.session, current_actor(), args["url"], args["event_types"],
                                    args.get("secret"), current_app.config.get("WEBHOOK_ALLOW_PRIVATE", False))
    db.session.commit()
    sub.secret = secret
    return sub, {"Location": url_for("api.unsubscribe", sub_id=sub.id)}


@bp.delete("/webhooks/<id:sub_id>")
@authenticated
@bp.response(200, SubscriptionSchema)
@documented(401, 403, 404)
def unsubscribe(sub_id: int):
    """Stop deliveries to a subscription of the calling key (404 for any other)."""
    sub = service.unsubscribe(db.session, current_actor(), sub_id)
    db.session.commit()
    return sub


@bp.get("/integrations/deliveries")
@authenticated
@bp.arguments(DeliveryQuerySchema, location="query")
@bp.response(200, OwnDeliveryListSchema)
@documented(400, 401, 403)
def own_deliveries(args):
    """The calling integrator's webhook deliveries, newest first (optionally of one dossier, in one
    state): attempts, state, last error, sequence. Administrators read any integrator's at
    `/admin/integrators/{id}/deliveries`."""
    cursor = args.get("cursor") or {}
    after = (datetime.fromisoformat(cursor["at"]), cursor["id"]) if "at" in cursor and "id" in cursor else None
    rows, following = service.my_deliveries(db.session, current_actor(), args.get("dossier"), args.get("status"),
                                            after, args["limit"])
    return {"items": [_delivery_view(delivery, job) for delivery, job in rows],
            "next_cursor": encode_cursor({"at": following[0].isoformat(), "id": following[1]} if following else None)}


@bp.post("/integrations/deliveries/<delivery_id>/redeliver")
@authenticated
@bp.response(202, RedeliverySchema)
@documented(401, 403, 404)
def redeliver(delivery_id: str):
    """Send one of the calling integrator's deliveries again: the same `delivery_id` and body,
    signed afresh, queued behind the dossier's deliveries still waiting for that subscription."""
    delivery, job = service.redeliver(db.session, current_actor(), delivery_id)
    db.session.commit()
    return {"delivery_id": delivery.id, "job_id": job.id, "state": job.state}
