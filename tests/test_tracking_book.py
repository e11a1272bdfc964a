"""The dossier tracking book (Sổ theo dõi hồ sơ) of a receiving unit: which dossiers are in it, its
columns and notes, the CSV and the printable page, who may read it and bad periods (both backends)."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from orchestrator.extensions import db
from orchestrator.models import Dossier, User
from orchestrator.models.types import utcnow
from orchestrator.services import tracking_book
from orchestrator.services.auth import actor_for_user
from orchestrator.timezone import TZ

from . import lifecycle_helpers as land
from .admin_client import BackOffice
from .flows import complete, definitions, lane_set, process, start, start_online, upload_and_publish, user
from .test_statistics import set_times

FLOW = "9.600001"      # Receive (reception), Review (specialist), Handover (reception), all at 00070
APPLICANT = {"full_name": "Trần Thị Bình", "phone": "0987654321", "address": "Số 5 phố Hàng Bạc, Hoàn Kiếm"}


def _procedure(api) -> None:
    lanes = lane_set({"Lane_R": ("commune/reception", ["Receive", "Handover"]),
                      "Lane_S": ("commune/specialist", ["Review"])})
    upload_and_publish(api, definitions(process([user("Receive"), user("Review"), user("Handover")], lanes=lanes)),
                       FLOW)


def _returned(api) -> str:
    body = start(api, FLOW, applicant=APPLICANT)
    [review] = body["current_tasks"]
    body = complete(api, review, "specialist.00070", {"note": "đủ điều kiện"})
    r = api.post(f"/dossiers/{body['code']}/actions/return-result", "reception.00070", json={"method": "in_person"})
    assert r.status_code == 200 and r.get_json()["status"] == 10, r.get_json()
    return body["code"]


def _dossiers(app, api, api_key) -> dict:
    """One dossier of each kind at commune 00070, one at commune 00454."""
    _procedure(api)
    key = api_key()
    made = {"received": start(api, FLOW, applicant=APPLICANT)["code"]}

    held = start_online(api, key, FLOW)["code"]
    assert api.post(f"/dossiers/{held}/actions/request-supplement", "reception.00070",
                    json={"items": ["Bản sao giấy tờ tùy thân"]}).status_code == 200
    r = api.post(f"/dossiers/{held}/events/supplement_submitted", key, json={"data": {"note": "đã bổ sung"}})
    [receive] = r.get_json()["current_tasks"]
    assert complete(api, receive, "reception.00070", {"reception_result": "accept"})["status"] == 4
    made["supplemented"] = held

    refused = start_online(api, key, FLOW)["code"]
    r = api.post(f"/dossiers/{refused}/actions/refuse", "reception.00070", json={"reason": "Sai thủ tục"})
    assert r.status_code == 200 and r.get_json()["status"] == 3
    made["refused"] = refused
    made["awaiting"] = start_online(api, key, FLOW)["code"]  # status 1: not in the book

    made["on_time"], made["late"] = _returned(api), _returned(api)
    now = utcnow()
    set_times(app, made["on_time"], finished=now, legal_due=now)  # same Vietnam day: on time
    set_times(app, made["late"], finished=now, legal_due=now - timedelta(days=3))
    made["other_unit"] = land.accepted(api, api_key())["code"]  # received by commune 00454
    return made


def _office(client, who: str) -> BackOffice:
    office = BackOffice(client)
    assert office.login(who).status_code == 302
    return office


def _today():
    return utcnow().astimezone(TZ).date()


def test_the_book_lists_the_units_dossiers_with_their_columns_and_notes(app, api, api_key):
    made = _dossiers(app, api, api_key)
    today = _today()
    with app.app_context():
        actor = actor_for_user(db.session, db.session.query(User).filter_by(username="specialist.00070").one())
        rows = {r.code: r for r in tracking_book.book(db.session, actor, "00070", today - timedelta(days=5), today)}

    assert set(rows) == {made[k] for k in ("received", "supplemented", "refused", "on_time", "late")}
    assert [r.number for r in sorted(rows.values(), key=lambda r: r.number)] == [1, 2, 3, 4, 5]
    ordered = sorted(rows.values(), key=lambda r: r.number)
    assert [r.received_at for r in ordered] == sorted(r.received_at for r in ordered), "by reception time"

    received = rows[made["received"]]
    assert (received.applicant_name, received.applicant_phone, received.applicant_address) == (
        "Trần Thị Bình", "0987654321", "Số 5 phố Hàng Bạc, Hoàn Kiếm")
    assert received.procedure_name == f"Thủ tục {FLOW}" and received.count == 1
    assert received.handling_unit_name == "Phường Hoàn Kiếm"
    assert received.due_at is not None and received.transferred_at is not None
    assert received.returned_at is None and received.outcome is None and received.notes == []

    assert [n.split(" ngày ")[0] for n in rows[made["supplemented"]].notes] == ["Yêu cầu bổ sung hồ sơ"]
    [refusal] = rows[made["refused"]].notes
    assert refusal.startswith("Từ chối tiếp nhận ngày ") and refusal.endswith("Sai thủ tục")
    assert rows[made["refused"]].transferred_at is None

    assert (rows[made["on_time"]].outcome, rows[made["on_time"]].outcome_label) == ("on_time", "Đúng hạn")
    assert (rows[made["late"]].outcome, rows[made["late"]].outcome_label) == ("late", "Quá hạn")
    assert rows[made["late"]].returned_at is not None

    # A period that ends before a dossier was received leaves it out.
    with app.app_context():
        d = db.session.query(Dossier).filter_by(code=made["received"]).one()
        d.received_at = datetime.combine(today - timedelta(days=40), datetime.min.time(), TZ).replace(hour=9)
        db.session.commit()
        actor = actor_for_user(db.session, db.session.query(User).filter_by(username="specialist.00070").one())
        recent = [r.code for r in tracking_book.book(db.session, actor, "00070", today - timedelta(days=5), today)]
        wide = [r.code for r in tracking_book.book(db.session, actor, "00070", today - timedelta(days=60), today)]
    assert made["received"] not in recent and len(recent) == 4
    assert wide[0] == made["received"], "received earliest: first in the book"


def test_page_csv_and_print_view(app, api, api_key, client):
    made = _dossiers(app, api, api_key)
    today = _today()
    q = f"unit=00070&from={(today - timedelta(days=5)).isoformat()}&to={today.isoformat()}"
    office = _office(client, "specialist.00070")

    home = office.text(office.get("/inbox"))
    assert 'id="nav-tracking-book"' in home
    page = office.get(f"/tracking-book?{q}")
    assert page.status_code == 200
    html = office.text(page)
    assert made["refused"] in html and made["late"] in html and made["awaiting"] not in html
    assert made["other_unit"] not in html and "Từ chối tiếp nhận" in html and "Trần Thị Bình" in html
    assert 'id="book-count">5<' in html and "/admin/tracking-book.csv?" in html

    default = office.text(office.get("/tracking-book"))  # the officer's unit, this month
    assert made["late"] in default

    r = office.get(f"/tracking-book.csv?{q}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    raw = r.get_data()
    assert raw.startswith("\ufeff".encode("utf-8"))
    disposition = r.headers["Content-Disposition"]
    assert f'filename="so-theo-doi-ho-so-00070-{(today - timedelta(days=5)).isoformat()}-{today.isoformat()}.csv"' \
        in disposition
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["STT", "Mã hồ sơ", "Tên thủ tục hành chính"] and rows[0][-1] == "Ghi chú"
    body = {row[1]: row for row in rows[1:]}
    assert set(body) == {made[k] for k in ("received", "supplemented", "refused", "on_time", "late")}
    assert body[made["received"]][4] == "Trần Thị Bình" and body[made["received"]][7] == "Phường Hoàn Kiếm"
    assert body[made["late"]][13] == "Quá hạn" and body[made["refused"]][-1].startswith("Từ chối tiếp nhận")

    printed = office.get(f"/tracking-book/print?{q}")
    assert printed.status_code == 200
    text = office.text(printed)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "SỔ THEO DÕI HỒ SƠ" in text
    assert "PHƯỜNG HOÀN KIẾM" in text and "size: A4 landscape" in text and made["late"] in text
    assert 'id="nav-tracking-book"' not in text, "no navigation on the printed page"


def test_who_may_read_the_book_and_bad_periods(app, api, api_key):
    made = _dossiers(app, api, api_key)
    q = "unit=00070"
    allowed = {"specialist.00070": 200, "leader.00070": 200, "supervisor.01": 200, "admin.01": 200}
    refused = {"specialist.00454": 403, "supervisor.19": 403, "admin.19": 403}
    for who, status in {**allowed, **refused}.items():
        office = _office(app.test_client(), who)
        for path in ("/tracking-book", "/tracking-book.csv", "/tracking-book/print"):
            r = office.get(f"{path}?{q}")
            assert r.status_code == status, (who, path, r.status_code)
            if status == 200 and path == "/tracking-book":
                assert made["late"] in office.text(r)
            if status == 403:
                assert made["late"] not in office.text(r)
    office = _office(app.test_client(), "supervisor.01")
    assert office.get("/tracking-book?unit=NOPE").status_code == 404

    # Bad periods: a message on the page (and the CSV answers 400), never a 500.
    office = _office(app.test_client(), "specialist.00070")
    for query, field in (("from=2026-05-02&to=2026-05-01", "trước hoặc bằng"), ("from=2025-01-01&to=2026-01-03", "366"),
                         ("from=hôm-nay", "YYYY-MM-DD")):
        r = office.get(f"/tracking-book?{q}&{query}")
        assert r.status_code == 200, query
        html = office.text(r)
        assert 'id="book-error"' in html and field in html and made["late"] not in html
        assert office.get(f"/tracking-book.csv?{q}&{query}").status_code == 400
        assert office.get(f"/tracking-book/print?{q}&{query}").status_code == 200
    assert office.get("/tracking-book?unit=00070&from=2025-01-01&to=2025-12-31").status_code == 200  # 365 days


def test_the_api_gives_the_book_as_json_and_csv(app, api, api_key):
    made = _dossiers(app, api, api_key)
    today = _today()
    q = f"from={(today - timedelta(days=5)).isoformat()}&to={today.isoformat()}"
    r = api.get(f"/units/00070/tracking-book?{q}", "supervisor.01")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["unit"], body["unit_name"], body["to"]) == ("00070", "Phường Hoàn Kiếm", today.isoformat())
    items = {i["code"]: i for i in body["items"]}
    assert set(items) == {made[k] for k in ("received", "supplemented", "refused", "on_time", "late")}
    assert items[made["late"]]["outcome"] == "late" and items[made["late"]]["returned_at"].endswith("+07:00")
    assert items[made["refused"]]["notes"][0].startswith("Từ chối tiếp nhận")
    assert items[made["received"]]["applicant_phone"] == "0987654321"

    r = api.get(f"/units/00070/tracking-book?{q}&format=csv", "specialist.00070")
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.get_data().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig"))))
    assert rows[0][1] == "Mã hồ sơ" and {row[1] for row in rows[1:]} == set(items)

    assert api.get("/units/00070/tracking-book", "specialist.00454").status_code == 403
    assert api.get("/units/00070/tracking-book", api_key()).status_code == 403
    assert api.get("/units/NOPE/tracking-book", "supervisor.01").status_code == 404
    for bad in ("from=2026-05-02&to=2026-05-01", "from=2025-01-01&to=2026-01-03"):
        r = api.get(f"/units/00070/tracking-book?{bad}", "supervisor.01")
        assert r.status_code == 400 and "from" in r.get_json()["error"]["fields"], r.get_json()
    r = api.get("/units/00070/tracking-book?format=xlsx", "supervisor.01")
    assert r.status_code in (400, 422) and "format" in str(r.get_json()["error"])


def test_the_book_costs_the_same_few_statements_whatever_the_number_of_dossiers(app, api, api_key):
    from sqlalchemy import event

    _dossiers(app, api, api_key)
    today = _today()

    def counted() -> tuple[int, int]:
        with app.app_context():
            actor = actor_for_user(db.session, db.session.query(User).filter_by(username="supervisor.01").one())
            tracking_book.book(db.session, actor, "00070", today, today)  # warm the versions' cache
            statements = []
            listener = lambda *a, **k: statements.append(1)  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                rows = tracking_book.book(db.session, actor, "00070", today - timedelta(days=5), today)
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            return len(rows), len(statements)

    few, cost = counted()
    for _ in range(3):
        _returned(api)
    more, cost_more = counted()
    assert more == few + 3 and cost_more == cost and cost <= 4, (few, cost, more, cost_more)
