"""Issue 22, the citizens' tracking page `/tra-cuu`: the receiving agency and how to reach it (set
by administrators on the unit page), the steps done and the current one by their public names
(a designer's label, else a generic one; never the diagram's internal name), and while a
supplement is asked: what to bring, by when and where."""
from __future__ import annotations

import re

from .admin_client import BackOffice
from .lifecycle_helpers import COMMUNE, accepted, action, complete, start_online
from .test_supplements import COMMUNE_SPECIALIST, LAND

ADDRESS, PHONE = "Số 12 phố Ngọc Khánh, phường Giảng Võ, Hà Nội", "024 3834 5678"
INTERNAL = ("Xác minh nguồn gốc, hiện trạng", "Kiểm tra hồ sơ, bản đồ địa chính", "Tiếp nhận, kiểm tra hồ sơ")


def set_contact(app) -> None:
    office = BackOffice(app.test_client())
    office.login("admin.01")
    r = office.post(f"/units/{COMMUNE}/contact", {"address": ADDRESS, "phone": PHONE})
    assert r.status_code in (302, 303), office.text(r)
    assert ADDRESS in office.text(office.get(f"/units/{COMMUNE}"))


def visible_text(page: str) -> str:
    return re.sub(r"<[^>]+>", " ", page)


def test_agency_contact_progress_and_supplement_items_never_the_internal_names(app, api, api_key, client):
    set_contact(app)
    code = accepted(api, api_key())["code"]
    # status only (no phone digits): the agency and its contact are public, the steps are not
    page = client.get(f"/tra-cuu?code={code}").get_data(as_text=True)
    assert 'id="agency"' in page and ADDRESS in page and PHONE in page and 'id="progress"' not in page
    # with the digits: the steps by their public names
    page = client.get(f"/tra-cuu?code={code}&phone=5678").get_data(as_text=True)
    progress = re.search(r'<ol class="progress" id="progress">(.*?)</ol>', page, re.S).group(1)
    assert re.search(r'<li class="done">Tiếp nhận hồ sơ', progress)
    assert re.search(r'<li class="current">Thẩm định hồ sơ', progress)
    assert not any(name in visible_text(page) for name in INTERNAL)

    r = action(api, COMMUNE_SPECIALIST, code, "request-supplement", items=["Giấy xác nhận của tổ dân phố"],
               reason="thiếu xác nhận")
    assert r.status_code == 200, r.get_json()
    page = client.get(f"/tra-cuu?code={code}&phone=5678").get_data(as_text=True)
    text = visible_text(page)
    assert 'data-status="5"' in page
    assert re.search(r'id="current-step">Đang xử lý: Chờ công dân bổ sung hồ sơ<', page)
    assert not any(name in text for name in INTERNAL)
    items = re.search(r'<ul id="supplement-items">(.*?)</ul>', page, re.S).group(1)
    assert "Giấy xác nhận của tổ dân phố" in items
    assert "Không có hạn cuối" in text and "tính lại từ ngày nhận đủ" in text  # by when
    where = re.search(r'id="bring-where">([^<]+)<', page).group(1)   # where
    assert ADDRESS in where and PHONE in where


def test_a_designer_label_replaces_the_generic_one(app, api, api_key, client):
    office = BackOffice(client)
    office.login("designer.VN")
    assert office.post(f"/procedures/{LAND}/v/1/copy").status_code in (302, 303)
    draft = max(v["version"] for v in api.get(f"/procedures/{LAND}/versions", "designer.VN").get_json()["items"])
    # too long: refused with a message, nothing stored
    r = office.post(f"/procedures/{LAND}/v/{draft}/tasks/Task_CommuneVerification/public-label",
                    {"public_label": "x" * 121}, follow=True)
    assert "120" in office.text(r)
    r = office.post(f"/procedures/{LAND}/v/{draft}/tasks/Task_CommuneVerification/public-label",
                    {"public_label": "Xác minh tại xã"})
    assert r.status_code in (302, 303)
    page = office.text(office.get(f"/procedures/{LAND}/v/{draft}"))
    assert 'value="Xác minh tại xã"' in page and 'placeholder="Tiếp nhận hồ sơ"' in page  # the generic default
    assert api.post(f"/procedures/{LAND}/versions/{draft}/publish", "designer.VN").status_code == 200

    body = complete(api, "reception.00454", start_online(api, api_key()), "Task_Reception")
    page = client.get(f"/tra-cuu?code={body['code']}&phone=5678").get_data(as_text=True)
    progress = re.search(r'<ol class="progress" id="progress">(.*?)</ol>', page, re.S).group(1)
    assert '<li class="current">Xác minh tại xã' in progress and "Xác minh nguồn gốc" not in page
