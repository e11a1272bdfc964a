"""Officers' pages through the test client (both backends): inbox, task page with the step's
form and server-side errors per field, dossier actions, documents, attachments, tracking."""
from __future__ import annotations

import io

from .admin_client import BackOffice
from .lifecycle_helpers import BRANCH_OFFICER, RECEPTION, accepted, start_online, task
from .test_land_e2e import STEP_DATA


def _office(client, who):
    office = BackOffice(client)
    r = office.login(who)
    assert r.status_code == 302, office.text(r)
    return office


def test_inbox_task_page_form_errors_and_completion(app, api, api_key, client):
    body = start_online(api, api_key())
    code, tid = body["code"], task(body, "Task_Reception")["id"]
    office = _office(client, RECEPTION)
    assert office.get("/").headers["Location"].endswith("/admin/inbox")
    page = office.text(office.get("/inbox"))
    assert code in page and 'data-count="all">1<' in page
    assert code not in office.text(office.get("/inbox?procedure=1.001193"))
    assert office.get("/inbox?due=overdue&status=99&page=-3").status_code == 400  # bad filters: a 400 page (issue 22, 3d)
    page = office.text(office.get(f"/tasks/{tid}"))
    assert 'name="reception_result"' in page and 'id="diagram"' in page and "on-path" in page
    # accept without the required fields: 400, every missing field named next to it
    r = office.post(f"/tasks/{tid}/complete", {"reception_result": "accept"}, referrer=f"/tasks/{tid}")
    assert r.status_code == 400
    text = office.text(r)
    assert 'data-field="parcel_number"' in text and text.count('class="field-error"') >= 5
    form = {k: ("true" if v is True else "" if v is False else v) for k, v in STEP_DATA["Task_Reception"].items()}
    r = office.post(f"/tasks/{tid}/complete", form, referrer=f"/tasks/{tid}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/admin/dossiers/{code}")
    page = office.text(office.get(f"/dossiers/{code}"))
    assert 'data-status="4"' in page and 'data-kind="receipt"' in page
    receipt = office.text(office.get(f"/dossiers/{code}/documents/receipt"))
    assert code in receipt and "HẸN TRẢ KẾT QUẢ" in receipt.upper()
    pdf = office.get(f"/dossiers/{code}/documents/receipt?format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert code in text and "Giấy tiếp nhận hồ sơ".upper() in text
    # an officer of an unrelated commune sees none of it
    other = _office(app.test_client(), "specialist.00070")
    assert other.get(f"/dossiers/{code}").status_code == 404 and other.get(f"/tasks/{tid}").status_code == 404


def test_dossier_actions_attachments_and_leader_reassignment(app, api, api_key, client):
    body = accepted(api, api_key())
    code, file_check = body["code"], task(body, "Task_FileCheck")["id"]
    office = _office(client, BRANCH_OFFICER)
    r = office.post(f"/dossiers/{code}/actions/request-supplement", {"items": "Bản vẽ\nSơ đồ nhà"},
                    referrer=f"/dossiers/{code}")
    assert r.status_code == 302
    assert 'data-status="5"' in office.text(office.get(f"/dossiers/{code}"))
    r = office.post(f"/dossiers/{code}/actions/request-supplement", {"items": "lần hai"}, referrer=f"/dossiers/{code}",
                    follow=True)
    assert "không được yêu cầu lần thứ hai" in office.text(r) or "trạng thái 5" in office.text(r)
    r = office.post(f"/dossiers/{code}/events/supplement_submitted", {"note": "đủ"}, referrer=f"/dossiers/{code}")
    assert r.status_code == 302
    page = office.text(office.get(f"/dossiers/{code}"))
    assert 'data-status="4"' in page and 'data-kind="supplement"' in page

    # attachments: type checked on content, downloadable only by those who may see the dossier
    bad = office.post(f"/dossiers/{code}/attachments", {"kind": "applicant", "file": (io.BytesIO(b"MZ..."), "a.pdf")},
                      referrer=f"/dossiers/{code}", follow=True)
    assert "Nội dung tệp không đúng" in office.text(bad)
    ok = office.post(f"/dossiers/{code}/attachments", {"kind": "applicant",
                                                       "file": (io.BytesIO(b"%PDF-1.4 x"), "don.pdf")},
                     referrer=f"/dossiers/{code}")
    assert ok.status_code == 302
    listed = api.get(f"/dossiers/{code}/attachments", RECEPTION).get_json()["items"]
    assert [a["filename"] for a in listed] == ["don.pdf"]
    aid = listed[0]["id"]
    assert office.get(f"/attachments/{aid}").data == b"%PDF-1.4 x"
    assert api.get(f"/attachments/{aid}", "reception.00070").status_code == 404
    assert api.get(f"/attachments/{aid}", RECEPTION).data == b"%PDF-1.4 x"

    leader = _office(app.test_client(), "leader.01.VPDKDD.CN11")
    page = leader.text(leader.get("/inbox?view=unit"))
    assert f'data-task="{file_check}"' in page
    r = leader.post(f"/tasks/{file_check}/assign", {"username": BRANCH_OFFICER}, referrer="/inbox?view=unit")
    assert r.status_code == 302
    assert api.get(f"/tasks/{file_check}", RECEPTION).get_json()["assignee"] == BRANCH_OFFICER


def test_public_tracking_page(app, api, api_key, client):
    code = accepted(api, api_key())["code"]
    r = client.get(f"/tra-cuu?code={code}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-status="4"' in page and 'id="details"' not in page
    assert "Nguyễn Văn An" not in page
    page = client.get(f"/tra-cuu?code={code}&phone=0000").get_data(as_text=True)
    assert 'id="details"' not in page and "không khớp" in page
    page = client.get(f"/tra-cuu?code={code}&phone=5678").get_data(as_text=True)
    assert 'id="details"' in page and "Đăng ký đất đai" in page
    assert client.get("/tra-cuu?code=NOPE").status_code == 404
    assert client.get("/tra-cuu").status_code == 200


def test_tracking_details_back_off_per_dossier_and_address(app, api, api_key, client):
    # issue 21: no per-dossier lockout any more; wrong digits back off per (code, address)
    # (tests/security/test_brute_force.py covers the backoff)
    code = accepted(api, api_key())["code"]
    for digits in ("1111", "2222", "3333", "4444"):
        assert client.get(f"/tra-cuu?code={code}&phone={digits}").status_code == 200
    r = client.get(f"/tra-cuu?code={code}&phone=5678")
    assert r.status_code == 200 and 'id="details"' in r.get_data(as_text=True)
    assert client.get(f"/tra-cuu?code={code}").status_code == 200  # the status alone stays available
