"""Citizens' ratings and feedback (issue 24, point 6): a rating only after the return, once, with
the applicant's phone digits; feedback answered by supervisors of the province only, the answer
sent to the citizen's contact through the outbox (a real SMTP server on 127.0.0.1)."""
from __future__ import annotations

import re

from orchestrator.extensions import db
from orchestrator.models import Feedback, Rating
from orchestrator.models.messages import CitizenMessage

from .admin_client import BackOffice
from .lifecycle_helpers import accepted
from .test_messages_outbox import drain, smtp  # noqa: F401  (fixture)
from .test_statistics import returned

DIGITS = "5678"


def _page(client, code):
    return client.get(f"/tra-cuu?code={code}").get_data(as_text=True)


def _post(client, path, code, **fields):
    page = _page(client, code)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(path, data={"csrf_token": token, "code": code, **fields})


def test_rating_only_after_return_once_and_with_the_right_digits(app, client, api, api_key):
    key = api_key()
    open_code = accepted(api, key)["code"]
    assert 'id="rating"' not in _page(client, open_code)
    r = _post(client, "/tra-cuu/danh-gia", open_code, score="5", phone=DIGITS)
    assert r.status_code == 409 and "sau khi hồ sơ đã trả kết quả" in r.get_data(as_text=True)

    code = returned(api, key)
    assert 'id="rating"' in _page(client, code)
    r = _post(client, "/tra-cuu/danh-gia", code, score="5", phone="0000")
    assert r.status_code == 403 and "không khớp" in r.get_data(as_text=True)
    r = _post(client, "/tra-cuu/danh-gia", code, score="9", phone=DIGITS)
    assert r.status_code == 400 and 'id="rating-error"' in r.get_data(as_text=True)
    r = _post(client, "/tra-cuu/danh-gia", code, score="4", phone=DIGITS, comment="x" * 1001)
    assert r.status_code == 400 and "1000" in r.get_data(as_text=True)
    r = client.post("/tra-cuu/danh-gia", data={"code": code, "score": "4", "phone": DIGITS})  # no CSRF token
    assert r.status_code == 400

    r = _post(client, "/tra-cuu/danh-gia", code, score="4", phone=DIGITS, comment="Nhanh, chu đáo")
    assert r.status_code == 302, r.get_data(as_text=True)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="sent-rating"' in page and 'id="rated"' in page and 'id="rating"' not in page
    r = _post(client, "/tra-cuu/danh-gia", code, score="1", phone=DIGITS)
    assert r.status_code == 409
    with app.app_context():
        assert [(x.score, x.comment) for x in db.session.query(Rating)] == [(4, "Nhanh, chu đáo")]


def test_feedback_answered_in_scope_and_sent_through_the_outbox(app, client, api, api_key, smtp):  # noqa: F811
    code = accepted(api, api_key())["code"]
    r = _post(client, "/tra-cuu/phan-anh", code, kind="petition", text="", phone=DIGITS)
    assert r.status_code == 400 and 'id="feedback-error"' in r.get_data(as_text=True)
    r = _post(client, "/tra-cuu/phan-anh", code, kind="petition", text="Xin giải quyết sớm", phone=DIGITS,
              email="not-an-email")
    assert r.status_code == 400
    r = _post(client, "/tra-cuu/phan-anh", code, kind="petition", text="Xin giải quyết sớm", phone=DIGITS,
              email="Hoa@Example.vn")
    assert r.status_code == 302
    # about a procedure, without a dossier
    r = client.post("/tra-cuu/phan-anh", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                                        _page(client, code)).group(1),
                                                "kind": "feedback", "text": "Biểu mẫu khó hiểu",
                                                "procedure_code": "1.004227", "province_code": "01"})
    assert r.status_code == 302
    with app.app_context():
        item = db.session.query(Feedback).filter_by(kind="petition").one()
        feedback_id, unit = item.id, item.unit_code
        assert item.province_code == "01" and unit

    other = BackOffice(app.test_client())
    other.login("supervisor.19")
    assert "Xin giải quyết sớm" not in other.text(other.get("/statistics/feedback?province=19"))
    assert other.get("/statistics/feedback?province=01").status_code == 403
    assert other.post(f"/statistics/feedback/{feedback_id}/answer", {"answer": "Không"}).status_code == 404

    office = BackOffice(app.test_client())
    office.login("supervisor.01")
    page = office.text(office.get("/statistics/feedback?province=01"))
    assert "Xin giải quyết sớm" in page and "Biểu mẫu khó hiểu" in page and f'data-code="{unit}"' in page
    r = office.post(f"/statistics/feedback/{feedback_id}/answer", {"answer": "Hồ sơ sẽ được trả trong tuần."})
    assert r.status_code in (302, 303), office.text(r)
    with app.app_context():
        sent = db.session.query(CitizenMessage).filter_by(event="feedback.answered").one()
        assert (sent.channel, sent.recipient) == ("email", "hoa@example.vn")
        assert db.session.get(Feedback, feedback_id).answered_by == "supervisor.01"
    drain(app)
    assert len(smtp.messages) == 1 and "Hồ sơ sẽ được trả trong tuần." in smtp.messages[0].get_body().get_content()
    assert smtp.messages[0]["To"] == "hoa@example.vn"
    # answered once
    r = office.post(f"/statistics/feedback/{feedback_id}/answer", {"answer": "Lần nữa"})
    assert r.status_code in (302, 303)
    with app.app_context():
        assert db.session.query(CitizenMessage).filter_by(event="feedback.answered").count() == 1


def _procedure_form(client, province):
    page = client.get(f"/tra-cuu/phan-anh?province={province}").get_data(as_text=True)
    return page, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_procedure_feedback_from_its_page_reaches_the_province_only(app, client):
    assert 'href="/tra-cuu/phan-anh"' in client.get("/tra-cuu").get_data(as_text=True)
    page, token = _procedure_form(client, "01")
    assert 'id="feedback"' in page and 'value="1.001193"' in page and 'name="province_code" value="01"' in page
    r = client.post("/tra-cuu/phan-anh", data={"csrf_token": token, "province_code": "01",
                                                "procedure_code": "1.001193", "kind": "petition",
                                                "text": "Xin rút ngắn thời hạn giải quyết",
                                                "contact_phone": "0912345678"})
    assert r.status_code == 302 and "/tra-cuu/phan-anh" in r.headers["Location"]
    assert 'id="sent-feedback"' in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        item = db.session.query(Feedback).one()
        assert (item.procedure_code, item.province_code, item.dossier_id) == ("1.001193", "01", None)

    office = BackOffice(app.test_client())
    office.login("supervisor.01")
    assert "Xin rút ngắn thời hạn giải quyết" in office.text(office.get("/statistics/feedback?province=01"))
    other = BackOffice(app.test_client())
    other.login("supervisor.19")
    assert "Xin rút ngắn thời hạn giải quyết" not in other.text(other.get("/statistics/feedback?province=19"))


def test_unknown_procedure_or_province_is_named_beside_the_form(app, client):
    _, token = _procedure_form(client, "01")
    r = client.post("/tra-cuu/phan-anh", data={"csrf_token": token, "province_code": "01",
                                                "procedure_code": "9.999999", "kind": "feedback", "text": "Khó"})
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="feedback-error"' in body and "Không có thủ tục 9.999999." in body
    assert "Khó</textarea>" in body  # the citizen's text kept
    r = client.post("/tra-cuu/phan-anh", data={"csrf_token": token, "province_code": "98",
                                                "procedure_code": "1.001193", "kind": "feedback", "text": "Khó"})
    assert r.status_code == 400 and "Không có tỉnh, thành phố mã 98." in r.get_data(as_text=True)
    r = client.get("/tra-cuu/phan-anh?province=98")
    assert r.status_code == 404 and "Không có tỉnh, thành phố mã 98." in r.get_data(as_text=True)
    r = client.post("/tra-cuu/phan-anh", data={"province_code": "01", "procedure_code": "1.001193",
                                                "kind": "feedback", "text": "Khó"})  # no CSRF token
    assert r.status_code == 400 and 'id="feedback-error"' in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Feedback).count() == 0
