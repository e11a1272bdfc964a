"""Reference data: units and the legal due-date computation."""
from __future__ import annotations

from flask import request
from sqlalchemy import func, or_, select

from orchestrator.extensions import db
from orchestrator.models import Unit
from orchestrator.services.deadlines import calendar_for
from orchestrator.services.errors import Invalid

from . import bp
from .auth import authenticated
from orchestrator.services.deadlines import declare_day, declared_days

from .auth import current_actor, json_body
from .schemas import CalendarDaySchema, CalendarQuerySchema, UnitQuerySchema, UnitSchema, VNDateTime


@bp.get("/units")
@authenticated
def units():
    args = UnitQuerySchema().load(request.args.to_dict())
    query = select(Unit)
    if "level" in args:
        query = query.where(Unit.level == args["level"])
    if "parent" in args:
        query = query.where(Unit.parent_code == args["parent"])
    if args.get("q"):
        like = f"%{args['q'].lower()}%"
        query = query.where(or_(func.lower(Unit.name).like(like), Unit.code == args["q"]))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Unit.code).limit(args["per_page"])
                              .offset((args["page"] - 1) * args["per_page"])).all()
    return {"items": UnitSchema(many=True).dump(rows), "total": total}


@bp.get("/calendar/due")
@authenticated
def calendar_due():
    args = CalendarQuerySchema().load(request.args.to_dict())
    kind, days = args["kind"], args.get("days")
    if kind != "same-day" and days is None:
        raise Invalid("Thiếu số ngày.", fields={"days": "bắt buộc với kind working/calendar"})
    province = args.get("province")
    if province and db.session.get(Unit, province) is None:
        raise Invalid("Không có tỉnh này.", fields={"province": "unknown province code"})
    try:
        due = calendar_for(db.session, province).due_at(args["from_"], kind, days if kind != "same-day" else None)
    except ValueError as exc:
        raise Invalid(str(exc), fields={"days": str(exc)}) from None
    dt = VNDateTime()
    return {"from": dt._serialize(args["from_"], None, None), "kind": kind, "days": days,
            "due_at": dt._serialize(due, None, None)}


@bp.get("/calendar/days")
@authenticated
def calendar_days():
    scope = request.args.get("scope", "VN")
    year = request.args.get("year", type=int)
    return {"items": CalendarDaySchema(many=True).dump(declared_days(db.session, scope, year))}


@bp.post("/calendar/days")
@authenticated
def declare_calendar_day():
    args = CalendarDaySchema().load(json_body())
    if args["scope"] != "VN" and (db.session.get(Unit, args["scope"]) is None):
        raise Invalid("Không có tỉnh này.", fields={"scope": "VN or a province code"})
    row = declare_day(db.session, current_actor(), args["day"], args["kind"], args["scope"], args.get("note"))
    db.session.commit()
    return CalendarDaySchema().dump(row), 201
