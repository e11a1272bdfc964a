"""Dossier statuses: the one table of allowed moves (`models.dossiers.TRANSITIONS`), enforced by
`steps.set_status`, which also keeps `finished_at`; and real flows over HTTP that perform the
table's moves, each recorded in the history under the action the table names (both backends)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from orchestrator.extensions import db
from orchestrator.models import AuditEvent, Dossier, DossierStatus
from orchestrator.models.dossiers import FINAL_STATUSES, TRANSITIONS
from orchestrator.services import steps

from .flows import definitions, lane_set, process, props, start, upload_and_publish, user
from .lifecycle_helpers import (
    BRANCH_LEADER, BRANCH_OFFICER, RECEPTION, accepted, action, complete, event, paid_at_once, start_online,
)
from .test_dossiers_api import start as start_birth

S = DossierStatus
EARLIER = datetime(2026, 1, 5, 3, 0, tzinfo=timezone.utc)
ALLOWED = {(old, new) for old, targets in TRANSITIONS.items() for new in targets}

# Moves the table allows because the engine can make them, that only unusual diagrams make (none
# of the shipped ones): the flows below perform every other move of the table.
ONLY_UNUSUAL_DIAGRAMS = {
    (S.RECEIVED, S.DECIDED),                # a decision step open beside the reception step
    (S.SUPPLEMENT_REQUESTED, S.REFUSED),    # the workflow ends (a timer, a message) while it waits
    (S.SUPPLEMENT_REQUESTED, S.RETURNED),
    (S.PAYMENT_REQUESTED, S.REFUSED),
    (S.PAYMENT_REQUESTED, S.RETURNED),
    (S.DECIDED, S.SUPPLEMENT_REQUESTED),    # a reception step drawn after the decision
}


def _dossier(app, api) -> int:
    r = start_birth(api, "reception.00070")
    assert r.status_code == 201, r.get_json()
    code = r.get_json()["code"]
    with app.app_context():
        return db.session.scalar(select(Dossier.id).where(Dossier.code == code))


def _last_event(session) -> int:
    return session.scalar(select(func.max(AuditEvent.id))) or 0


def _written(session, dossier_id: int, after: int) -> list[AuditEvent]:
    """The dossier's history events written since `after` (in this transaction: rolled back next)."""
    return session.scalars(select(AuditEvent).where(AuditEvent.dossier_id == dossier_id, AuditEvent.id > after)
                           .order_by(AuditEvent.id)).all()


def test_every_move_of_the_table_is_allowed_and_keeps_finished_at(app, api):
    dossier_id = _dossier(app, api)
    with app.app_context():
        session = db.session
        baseline = _last_event(session)
        for (old, new), action_name in {(o, n): a for o, t in TRANSITIONS.items() for n, a in t.items()}.items():
            for finished_before in (None, EARLIER):
                dossier = session.get(Dossier, dossier_id)
                dossier.status, dossier.finished_at = old, finished_before
                steps.set_status(session, dossier, new, "test", note="walk")
                assert dossier.status == new
                if new in FINAL_STATUSES:  # reaching a final status finishes the dossier now
                    assert dossier.finished_at is not None and dossier.finished_at != EARLIER, (old, new)
                else:  # any other status: not finished (a status leaving finality clears it)
                    assert dossier.finished_at is None, (old, new)
                [recorded] = _written(session, dossier_id, baseline)
                assert (recorded.action, recorded.from_status, recorded.to_status) == (action_name, old, new)
                session.rollback()


def test_the_end_of_the_workflow_finishes_a_decided_dossier_that_stays_decided(app, api):
    dossier_id = _dossier(app, api)
    with app.app_context():
        session = db.session
        baseline = _last_event(session)
        dossier = session.get(Dossier, dossier_id)
        dossier.status, dossier.finished_at = S.DECIDED, None
        steps.set_status(session, dossier, S.DECIDED, "test")  # no move, not ended: nothing happens
        assert dossier.finished_at is None and not _written(session, dossier_id, baseline)
        steps.set_status(session, dossier, S.DECIDED, "test", ended=True)
        assert dossier.status == S.DECIDED and dossier.finished_at is not None
        assert not _written(session, dossier_id, baseline)  # not a move: no history
        session.rollback()


def test_a_move_the_table_does_not_list_is_refused_and_changes_nothing(app, api):
    dossier_id = _dossier(app, api)
    with app.app_context():
        session = db.session
        baseline = _last_event(session)
        refused = [(old, new) for old in S for new in S if old != new and (old, new) not in ALLOWED]
        assert (S.RETURNED, S.PROCESSING) in refused and (S.AWAITING_RECEPTION, S.DECIDED) in refused
        for old, new in refused:
            dossier = session.get(Dossier, dossier_id)
            dossier.status, dossier.finished_at = old, EARLIER
            with pytest.raises(steps.StatusError, match=f"{old.name}.*{new.name}"):
                steps.set_status(session, dossier, new, "test")
            assert (dossier.status, dossier.finished_at) == (old, EARLIER)
            assert not _written(session, dossier_id, baseline)
            session.rollback()
    assert all(not TRANSITIONS[final] for final in FINAL_STATUSES)  # nothing leaves a final status


# -- the moves real flows make ------------------------------------------------------------------

def _ok(r) -> dict:
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _done(api, body: dict, step_id: str, who: str, data: dict | None = None) -> dict:
    task = next(t for t in body["current_tasks"] if t["step_id"] == step_id)
    return _ok(api.post(f"/tasks/{task['id']}/complete", who, json={"data": data or {}}))


def test_real_flows_make_the_moves_of_the_table_and_only_those(app, api, api_key):
    key = api_key()

    # The land procedure (1.013978, started as 1.004227, at commune 00454): supplements at reception and during
    # processing, the financial obligation, the decision, a return to an earlier step, the result.
    code = start_online(api, key)["code"]
    _ok(action(api, RECEPTION, code, "request-supplement", items=["Mảnh trích đo"]))             # 1 -> 5
    body = _ok(event(api, key, code, "supplement_submitted", {"note": "đủ"}))                   # 5 -> 1
    assert complete(api, RECEPTION, body, "Task_Reception")["status"] == S.PROCESSING             # 1 -> 2 -> 4
    code = accepted(api, key)["code"]
    _ok(action(api, BRANCH_OFFICER, code, "request-payment", amount=100000))                       # 4 -> 6
    _ok(event(api, key, code, "payment_received", {"receipt_number": "BL-1"}))                      # 6 -> 4
    _ok(action(api, BRANCH_OFFICER, code, "request-supplement", items=["Bản vẽ"]))               # 4 -> 5
    body = _ok(event(api, RECEPTION, code, "supplement_submitted"))                                # 5 -> 4
    body = complete(api, "specialist.00454", body, "Task_CommuneVerification")
    body = complete(api, BRANCH_OFFICER, body, "Task_FileCheck")
    body = paid_at_once(api, key, body)                                     # the diagram's wait: 4 stays 4
    body = complete(api, BRANCH_OFFICER, body, "Task_Draft")
    body = complete(api, "leader.00454", body, "Task_Sign")                                       # 4 -> 9
    assert body["status"] == S.DECIDED
    body = _ok(action(api, BRANCH_LEADER, code, "return-to-step", step_id="Task_Draft", reason="Sai số thửa"))
    assert body["status"] == S.PROCESSING                                                           # 9 -> 4
    body = complete(api, BRANCH_OFFICER, body, "Task_Draft")
    body = complete(api, "leader.00454", body, "Task_Sign")                                       # 4 -> 9
    body = complete(api, BRANCH_OFFICER, body, "Task_UpdateCadastre")
    body = _ok(action(api, RECEPTION, code, "return-result", method="in_person", data={"result_number": "KQ-1"}))
    assert body["status"] == S.RETURNED and body["finished_at"]                                     # 9 -> 10

    _ok(action(api, RECEPTION, start_online(api, key)["code"], "refuse", reason="Ngoài địa bàn"))   # 1 -> 3
    _ok(event(api, key, start_online(api, key)["code"], "withdrawn", {"reason": "rút"}))            # 1 -> 7
    _ok(action(api, BRANCH_LEADER, accepted(api, key)["code"], "stop", reason="Tranh chấp"))        # 4 -> 8
    for pause, body in (("request-payment", {"amount": 100000}), ("request-supplement", {"items": ["Bản sao"]})):
        for end in ("withdrawn", "stop"):                                                          # 6|5 -> 7|8
            code = accepted(api, key)["code"]
            _ok(action(api, BRANCH_OFFICER, code, pause, **body))
            if end == "withdrawn":
                _ok(event(api, key, code, "withdrawn"))
            else:
                _ok(action(api, BRANCH_LEADER, code, "stop", reason="Tranh chấp"))

    # Drawn diagrams at commune 00070: the end of the workflow in statuses 1, 4 and 9, with each
    # outcome an end event may name (none: the result is returned); a second reception step keeps
    # an in-person dossier at 2.
    receive = user("Receive", inner=props(milestone="reception"))
    drawn = {"R": ("commune/reception", ["Receive", "Check"]), "S": ("commune/specialist", ["Review", "Decide", "Hand"])}

    def lanes_of(*ids: str) -> str:  # a lane names only the steps of its diagram (issue 22: no dangling refs)
        return lane_set({k: (name, [i for i in refs if i in ids]) for k, (name, refs) in drawn.items()})
    for n, outcome in enumerate((None, "refused", "withdrawn", "stopped")):
        end = props(outcome=outcome) if outcome else ""
        codes = [f"9.40{n}00{i}" for i in range(3)]
        upload_and_publish(api, definitions(process([], end=end)), codes[0])
        upload_and_publish(api, definitions(process([receive, user("Review")], lanes=lanes_of("Receive", "Review"), end=end)), codes[1])
        upload_and_publish(api, definitions(process([receive, user("Decide", inner=props(milestone="decision")),
                                                     user("Hand", inner=props(milestone="return"))],
                                                    lanes=lanes_of("Receive", "Decide", "Hand"), end=end)), codes[2])
        r = api.post("/dossiers", key, json={"procedure_code": codes[0], "province_code": "01", "commune_code": "00070",
                                             "applicant": {"full_name": "A"}, "data": {}})
        assert r.status_code == 201 and r.get_json()["finished_at"], r.get_json()                 # 1 -> end
        body = start(api, codes[1])                                                                # 2 -> 4
        assert _done(api, body, "Review", "specialist.00070")["finished_at"]                       # 4 -> end
        body = _done(api, start(api, codes[2]), "Decide", "specialist.00070")
        assert body["status"] == S.DECIDED                                                          # 4 -> 9
        assert _done(api, body, "Hand", "specialist.00070")["finished_at"]                         # 9 -> end
    upload_and_publish(api, definitions(process([receive, user("Check", inner=props(milestone="reception")),
                                                 user("Review")], lanes=lanes_of("Receive", "Check", "Review"))),
                       "9.409000")
    at_two = [start(api, "9.409000")["code"] for _ in range(5)]
    upload_and_publish(api, definitions(process([receive], lanes=lanes_of("Receive"))), "9.409001")
    assert start(api, "9.409001")["status"] == S.RETURNED                                          # 2 -> 10
    assert all(api.get(f"/dossiers/{c}", "reception.00070").get_json()["status"] == S.RECEIVED for c in at_two)
    _ok(action(api, "reception.00070", at_two[0], "request-payment"))                              # 2 -> 6
    _ok(action(api, "reception.00070", at_two[1], "request-supplement", items=["Bản sao"]))        # 2 -> 5
    _ok(action(api, "leader.00070", at_two[2], "stop", reason="Tranh chấp"))                       # 2 -> 8
    _ok(event(api, "reception.00070", at_two[3], "withdrawn"))                                      # 2 -> 7
    body = api.get(f"/dossiers/{at_two[4]}", "reception.00070").get_json()
    _done(api, body, "Check", "reception.00070", {"reception_result": "refuse", "refusal_reason": "Sai"})  # 2 -> 3

    with app.app_context():
        moves = db.session.execute(select(AuditEvent.from_status, AuditEvent.to_status, AuditEvent.action)
                                   .where(AuditEvent.from_status.is_not(None), AuditEvent.to_status.is_not(None))
                                   ).all()
    made = {(S(old), S(new)) for old, new, _action in moves}
    for old, new, action_name in moves:  # every move made is in the table, under the table's action
        assert TRANSITIONS[S(old)].get(S(new)) == action_name, (old, new, action_name)
    assert ONLY_UNUSUAL_DIAGRAMS <= ALLOWED
    assert ALLOWED - ONLY_UNUSUAL_DIAGRAMS - made == set(), "moves of the table no flow made"
