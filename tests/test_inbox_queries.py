"""The inbox's query shapes (issue 8, target 3): no due date last on both backends, the dossier
loaded with the page (no query per row), two statements per page whatever its size."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event, select

from orchestrator.extensions import db
from orchestrator.services.calendar import TZ

from .lifecycle_helpers import BRANCH_OFFICER, accepted, task


def test_inbox_order_no_due_date_last_and_two_statements_per_page(app, api, api_key):
    key = api_key()
    bodies = [accepted(api, key) for _ in range(3)]
    ids = [task(b, "Task_FileCheck")["id"] for b in bodies]
    with app.app_context():
        from orchestrator.models import User, WorkItem
        from orchestrator.services import inbox
        from orchestrator.services.auth import actor_for_user

        now = datetime.now(TZ)
        dues = [None, now + timedelta(days=3), now - timedelta(days=1)]  # overdue once its due day has ended
        for item_id, due in zip(ids, dues):
            db.session.get(WorkItem, item_id).due_at = due
        db.session.commit()
        db.session.remove()

        session = db.session
        actor = actor_for_user(session, session.scalar(select(User).where(User.username == BRANCH_OFFICER)))
        inbox.search(session, actor, "available")  # the working calendar is cached from here on
        session.expunge_all()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            page = inbox.search(session, actor, "available")
            codes = [(w.dossier.code, w.dossier.status) for w in page.items]  # no lazy load per row
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        statements = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert [w.id for w in page.items] == [ids[2], ids[1], ids[0]]  # overdue, later, no due date last
        assert codes == [(bodies[i]["code"], 4) for i in (2, 1, 0)]
        assert page.counts["all"] == 3 and page.counts["overdue"] == 1
        assert len(statements) == 2, statements  # counts + page
        filtered = inbox.search(session, actor, "available", status=4, procedure_code="1.013978")
        assert filtered.total == 3 and [w.id for w in filtered.items] == [ids[2], ids[1], ids[0]]
        assert inbox.search(session, actor, "available", status=9).counts["all"] == 0
