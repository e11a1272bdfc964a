"""Notification templates (issue 24): Vietnamese defaults, the province > national > built-in
order, the sandbox (at save and at render), size limits and the back office's page."""
from __future__ import annotations

import pytest

from orchestrator.extensions import db
from orchestrator.models import MessageTemplate
from orchestrator.services import message_templates as mt
from orchestrator.services.auth import actor_for_user
from orchestrator.services.errors import Forbidden, Rejected

from .admin_client import BackOffice

PAYLOADS = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ code|attr('__class__') }}",
    "{{ code['__class__'] }}",
    "{{ '{0.__class__}'.format(code) }}",
    "{% for i in range(10**7) %}x{% endfor %}",
    "{{ 'x' * 10000000 }}",
    "{{ '%099999999d' % 1 }}",
]
CONTEXT = {"code": "H26-0001", "procedure_name": "Đăng ký khai sinh", "due_date": "15/12/2026",
           "tracking_url": "https://dvc.example.vn/tra-cuu?code=H26-0001", "unit_name": "UBND phường Hoàn Kiếm"}


def _actor(username):
    from sqlalchemy import select

    from orchestrator.models import User
    return actor_for_user(db.session, db.session.scalar(select(User).where(User.username == username)))


def test_defaults_render_in_vietnamese(app):
    with app.app_context():
        r = mt.render(db.session, province_code="01", event="dossier.received", channel="email", context=CONTEXT)
        assert r.source == "builtin" and r.problem is None
        assert r.subject == "Đã tiếp nhận hồ sơ H26-0001"
        assert "Ngày hẹn trả kết quả: 15/12/2026" in r.body and CONTEXT["tracking_url"] in r.body
        sms = mt.render(db.session, province_code="01", event="supplement.requested", channel="sms",
                        context={**CONTEXT, "items": ["Bản sao giấy chứng sinh"], "place": "Bộ phận Một cửa"})
        assert "cần bổ sung: Bản sao giấy chứng sinh" in sms.body and "15/12/2026" in sms.body
        zalo = mt.render(db.session, province_code="01", event="dossier.delayed", channel="zalo",
                         context={**CONTEXT, "new_due_date": "22/12/2026"})
        assert zalo.params["new_due_date"] == "22/12/2026" and zalo.params["code"] == "H26-0001"
        for event, channels in mt.DEFAULTS.items():  # every default passes its own checks
            assert set(channels) == set(mt.channels_of(event))
            for channel, text in channels.items():
                p = mt._preview(event, channel, text.get("subject"), text["body"], None)
                assert not p.errors and not p.unknown, (event, channel)


def test_province_beats_national_beats_builtin(app):
    with app.app_context():
        mt.save_template(db.session, _actor("admin.VN"), None, "dossier.refused", "sms", None,
                         "QUỐC GIA {{ code }}")
        mt.save_template(db.session, _actor("admin.01"), "01", "dossier.refused", "sms", None, "HÀ NỘI {{ code }}")
        db.session.commit()
        say = lambda p: mt.render(db.session, province_code=p, event="dossier.refused", channel="sms",
                                  context=CONTEXT)
        assert (say("01").body, say("01").source) == ("HÀ NỘI H26-0001", "province")
        assert (say("19").body, say("19").source) == ("QUỐC GIA H26-0001", "national")
        mt.reset_template(db.session, _actor("admin.VN"), "VN", "dossier.refused", "sms")
        assert say("19").source == "builtin" and say("01").source == "province"
        with pytest.raises(Forbidden):
            mt.save_template(db.session, _actor("admin.01"), None, "dossier.refused", "sms", None, "x")
        with pytest.raises(Forbidden):
            mt.save_template(db.session, _actor("admin.01"), "19", "dossier.refused", "sms", None, "x")


@pytest.mark.sqlite_only
@pytest.mark.parametrize("payload", PAYLOADS)
def test_sandbox_refuses_at_save_and_at_render(app, payload):
    with app.app_context():
        with pytest.raises(Rejected) as refused:
            mt.save_template(db.session, _actor("admin.01"), "01", "dossier.received", "sms", None, payload)
        assert "Mẫu không hợp lệ" in refused.value.message
        # written straight to the database: still no escape, the next level speaks
        db.session.add(MessageTemplate(province_code="01", event="dossier.received", channel="sms", body=payload))
        db.session.flush()
        r = mt.render(db.session, province_code="01", event="dossier.received", channel="sms", context=CONTEXT)
        assert r.source == "builtin" and r.problem and "class" not in r.body and "H26-0001" in r.body


def test_limits_and_unknown_variables(app):
    with app.app_context():
        admin = _actor("admin.01")
        with pytest.raises(Rejected, match="tối đa 8192 byte"):
            mt.save_template(db.session, admin, "01", "dossier.received", "sms", None, "x" * (8 * 1024 + 1))
        with pytest.raises(Rejected, match="biến không có: cccd"):
            mt.save_template(db.session, admin, "01", "dossier.received", "sms", None, "{{ code }} {{ cccd }}")
        with pytest.raises(Rejected, match="lồng quá 2"):
            mt.save_template(db.session, admin, "01", "dossier.received", "sms", None,
                             "{% for a in [1] %}{% for b in [1] %}{% for c in [1] %}{% endfor %}{% endfor %}{% endfor %}")
        big = "{% for a in range(100) %}{% for b in range(100) %}" + "y" * 60 + "{% endfor %}{% endfor %}"
        db.session.add(MessageTemplate(province_code="01", event="dossier.received", channel="sms", body=big))
        db.session.flush()
        r = mt.render(db.session, province_code="01", event="dossier.received", channel="sms", context=CONTEXT)
        assert r.source == "builtin" and "quá dài" in r.problem


def test_back_office_page_preview_and_scope(app, client):
    office = BackOffice(client)
    office.login("admin.01")
    page = office.text(office.get("/message-templates"))
    assert "dossier.received" in page and "mẫu có sẵn" in page
    assert office.get("/").status_code in (200, 302)
    edit = "/message-templates/01/dossier.received/email"
    assert office.get(edit).status_code == 200
    shown = office.post(edit, {"action": "preview", "subject": "Hồ sơ {{ code }}", "body": "Hẹn {{ due_date }}"})
    assert shown.status_code == 200 and "Hồ sơ 000.00.70.H26-261201-0001" in office.text(shown)
    bad = office.post(edit, {"action": "preview", "subject": "x", "body": "dòng 1\ndòng 2\n{{ code }"})
    assert bad.status_code == 422 and "lỗi cú pháp ở dòng 3" in office.text(bad)
    unsafe = office.post(edit, {"action": "save", "subject": "x", "body": "{{ ''.__class__ }}"})
    assert unsafe.status_code == 422 and "__class__" in office.text(unsafe)
    saved = office.post(edit, {"action": "save", "subject": "Mới {{ code }}", "body": "Nội dung {{ code }}"})
    assert saved.status_code == 303
    assert "mẫu của tỉnh" in office.text(office.get("/message-templates"))
    assert office.post(edit + "/reset").status_code == 303
    # another province's templates and the national ones are not this administrator's
    assert office.get("/message-templates/19/dossier.received/email").status_code == 403
    assert office.post("/message-templates/19/dossier.received/email",
                       {"action": "save", "body": "x"}).status_code == 403
    assert office.post("/message-templates/VN/dossier.received/email",
                       {"action": "save", "body": "x"}).status_code == 403
    assert office.get("/message-templates/01/nope/email").status_code == 404


@pytest.mark.sqlite_only
@pytest.mark.parametrize("username", ["designer.01", "specialist.00070"])
def test_designers_and_officers_cannot_reach_the_page(app, client, username):
    office = BackOffice(client)
    office.login(username)
    assert office.get("/message-templates").status_code == 403
    assert office.get("/message-templates/01/dossier.received/email").status_code == 403


@pytest.mark.sqlite_only
def test_the_pages_in_english_are_in_english(app, client):
    """One language per page: labels, events, variables and the sandbox's refusals (the messages'
    own text stays what the administrator wrote)."""
    office = BackOffice(client)
    office.login("admin.01")
    office.get("/lang/en")
    page = office.text(office.get("/message-templates"))
    assert "Message templates" in page and "Dossier received" in page and "built-in template" in page
    assert "Mẫu thông báo" not in page and "Đã tiếp nhận hồ sơ" not in page and "mẫu có sẵn" not in page
    edit = "/message-templates/01/supplement.requested/email"
    page = office.text(office.get(edit))
    assert "Additional documents requested" in page and "list of documents to add" in page
    assert "The built-in template is in use." in page and "Subject" in page and "Available variables" in page
    assert "Biến được dùng" not in page and "danh sách giấy tờ cần bổ sung" not in page
    bad = office.post(edit, {"action": "preview", "subject": "x", "body": "{{ ''.__class__ }}"})
    assert bad.status_code == 422 and "may not be accessed" in office.text(bad)
    assert "không được truy cập" not in office.text(bad)


def test_a_scope_that_cannot_be_a_code_is_a_400_page_naming_it(app, client):
    """Pages answer 400 naming `scope`; forms are refused (back to the form, nothing stored), never a 500."""
    office = BackOffice(client)
    office.login("admin.VN")
    for scope in ("XX", "ab%00c", "x" * 11):
        edit = f"/message-templates/{scope}/dossier.received/email"
        r = office.get(edit)
        assert r.status_code == 400 and "<code>scope</code>" in office.text(r), (scope, r.status_code)
        for r in (office.post(edit, {"action": "save", "body": "x"}), office.post(edit + "/reset")):
            assert r.status_code in (303, 400), (scope, r.status_code)  # refused: back to the form
    with app.app_context():
        assert db.session.query(MessageTemplate).count() == 0
