"""Supervisors' figures: on-time rate, per procedure, per unit, per week, bottlenecks."""
from __future__ import annotations

from orchestrator.extensions import db
from orchestrator.services import statistics as service

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .schemas.statistics import StatisticsQuerySchema, StatisticsSchema


@bp.get("/statistics")
@authenticated
@bp.arguments(StatisticsQuerySchema, location="query")
@bp.response(200, StatisticsSchema)
@documented(400, 401, 403)
def statistics(args):
    """On-time rate (early / on time / late) of the dossiers returned in a period, by week, by
    procedure and by unit, with what is open and overdue (as of `open_as_of`, the worker's snapshot of
    the open work, refreshed every minute) and the steps where it waits.
    Supervisors and administrators, for their province (national ones: `province` or all);
    the period defaults to the last 12 weeks, at most 366 days."""
    return service.report(db.session, current_actor(), args.get("province"), args.get("from_"), args.get("to"))
