"""Reference data: units, the legal due-date computation, declared calendar days, office hours."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from orchestrator.extensions import db
from orchestrator.models import Unit
from orchestrator.services import administration, office_hours
from orchestrator.services import search
from orchestrator.services.deadlines import calendar_for, declared_days
from orchestrator.i18n import vi
from orchestrator.services.errors import Invalid

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .schemas.common import VNDateTime
from .schemas.reference import (
    CalendarDayListSchema, CalendarDaySchema, CalendarDaysQuerySchema, CalendarQuerySchema, DueSchema,
    OfficeHoursQuerySchema, OfficeHoursSchema, UnitListSchema, UnitQuerySchema,
)


@bp.get("/units")
@authenticated
@bp.arguments(UnitQuerySchema, location="query")
@bp.response(200, UnitListSchema)
@documented(400, 401)
def units(args):
    """Provinces, communes, departments, service centers and their branches."""
    query = select(Unit)
    if "level" in args:
        query = query.where(Unit.level == args["level"])
    if "parent" in args:
        query = query.where(Unit.parent_code == args["parent"])
    if args.get("q"):  # folded words (services.search): "ba dinh" finds "Phường Ba Đình"
        query = query.where(or_(search.matches(Unit.name_folded, args["q"]), Unit.code == args["q"].strip()))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Unit.code).limit(args["per_page"])
                              .offset((args["page"] - 1) * args["per_page"])).all()
    return {"items": rows, "total": total}


@bp.get("/calendar/due")
@authenticated
@bp.arguments(CalendarQuerySchema, location="query")
@bp.response(200, DueSchema)
@documented(400, 401)
def calendar_due(args):
    """The legal due date-time for a reception time, by the rules of docs/domain.md."""
    kind, days = args["kind"], args.get("days")
    if kind != "same-day" and days is None:
        raise Invalid("Thiếu số ngày.", fields={"days": "bắt buộc với kind working/calendar"})
    province = args.get("province")
    if province and db.session.get(Unit, province) is None:
        raise Invalid("Không có tỉnh này.", fields={"province": "unknown province code"})
    if not 2000 <= args["from_"].year <= 2100:  # the calendar's range; year 9999 would overflow
        raise Invalid(vi("Ngày tiếp nhận ngoài khoảng cho phép (năm 2000–2100)."), fields={"from": "year 2000-2100"})
    try:
        due = calendar_for(db.session, province).due_at(args["from_"], kind, days if kind != "same-day" else None)
    except ValueError as exc:
        raise Invalid(str(exc), fields={"days": str(exc)}) from None
    except OverflowError:
        raise Invalid(vi("Hạn giải quyết vượt quá năm 2100."), fields={"days": "due date after year 2100"}) from None
    dt = VNDateTime()
    return {"from_": dt._serialize(args["from_"], None, None), "kind": kind, "days": days,
            "due_at": dt._serialize(due, None, None)}


@bp.get("/calendar/days")
@authenticated
@bp.arguments(CalendarDaysQuerySchema, location="query")
@bp.response(200, CalendarDayListSchema)
@documented(400, 401)
def calendar_days(args):
    """Days off and make-up working days declared for a scope (VN or a province), each with
    `confirmed`, and the office hours that apply there."""
    return {"items": declared_days(db.session, args["scope"], args.get("year")),
            "office_hours": _hours(args["scope"])}


def _hours(scope: str) -> dict:
    hours, source = office_hours.effective(db.session, scope)
    return {"scope": scope, **hours.as_dict(), "source": source or "default"}


@bp.get("/calendar/office-hours")
@authenticated
@bp.arguments(OfficeHoursQuerySchema, location="query")
@bp.response(200, OfficeHoursSchema)
@documented(400, 401)
def calendar_office_hours(args):
    """The office hours and same-day cut-off that apply in a province (its own, else VN's, else the
    national defaults 07:30–11:30, 13:00–17:00, cut-off 15:00); no province: the country's."""
    province = args.get("province") or "VN"
    if province != "VN" and db.session.get(Unit, province) is None:
        raise Invalid("Không có tỉnh này.", fields={"province": "unknown province code"})
    return _hours(province)


@bp.put("/calendar/office-hours")
@authenticated
@bp.arguments(OfficeHoursSchema)
@bp.response(200, OfficeHoursSchema)
@documented(400, 401, 403)
def set_calendar_office_hours(args):
    """An administrator sets its scope's office hours and same-day cut-off, as the back office's
    calendar page does (the same service, audited)."""
    scope = args.pop("scope")
    office_hours.set_hours(db.session, current_actor(), scope, args)
    db.session.commit()
    return _hours(scope)


@bp.post("/calendar/days")
@authenticated
@bp.arguments(CalendarDaySchema)
@bp.response(201, CalendarDaySchema)
@documented(400, 401, 403)
def declare_calendar_day(args):
    """An administrator declares a day off or a make-up working day (country or province), as the
    back office's calendar page does (the same service, audited)."""
    row = administration.add_day(db.session, current_actor(), args["scope"], args["day"], args["kind"],
                                 args.get("note"))
    db.session.commit()
    return row
