"""Step forms in Chromium (issue 19, point 4): the browser stops a value the schema refuses before
anything is sent, in Vietnamese; a refusal by the server keeps every value typed and focuses the
summary of what to fix; a task held by a colleague reads as such, with its holder and a button to
ask for it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import Notification, User
from orchestrator.services.auth import create_user

from .lifecycle_helpers import RECEPTION, start_online, task
from .test_admin_browser import browser, login, page, server, shot  # noqa: F401  (fixtures)
from .test_dossiers_api import APPLICANT, BIRTH

pytestmark = pytest.mark.sqlite_only


def _posts_to_complete(page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" and r.url.endswith("/complete") else None)
    return sent


def test_browser_stops_a_bad_value_and_the_server_keeps_what_was_typed(page, server, api, api_key):  # noqa: F811
    tid = task(start_online(api, api_key()), "Task_Reception")["id"]
    login(page, server, RECEPTION)
    page.wait_for_selector("header")
    page.goto(f"{server}/admin/tasks/{tid}")
    page.click("#claim")
    page.wait_for_selector("text=Đã nhận việc")
    sent = _posts_to_complete(page)

    page.check("#step-form input[name=reception_result][value=accept]")
    page.fill("#f-applicant_full_name", "Nguyễn Văn An")
    page.fill("#f-parcel_number", "-3")
    page.select_option("#f-land_use_purpose", "ODT")
    page.fill("#f-missing_items", "Bản vẽ\nSơ đồ nhà")
    page.click("#complete")
    # stopped by the browser, in Vietnamese, next to the field and as the field's own validity
    page.wait_for_selector("#err-parcel_number.field-error:visible")
    assert page.inner_text("#err-parcel_number") == "Phải lớn hơn hoặc bằng 1."
    assert page.eval_on_selector("#f-parcel_number", "e => e.validationMessage") == "Phải lớn hơn hoặc bằng 1."
    assert page.evaluate("document.activeElement.id") == "f-parcel_number"
    assert sent == []
    page.fill("#f-applicant_id_number", "12345")
    page.click("#complete")
    assert page.inner_text("#err-applicant_id_number") == "Cần đúng 12 chữ số." and sent == []

    # values the browser accepts but the server refuses (accepting needs the parcel's address ...)
    page.fill("#f-parcel_number", "5")
    page.fill("#f-applicant_id_number", "001190012345")
    assert page.is_hidden("#err-parcel_number")  # the message follows what is typed
    page.click("#complete")
    page.wait_for_selector("#error-summary")
    assert len(sent) == 1
    # forms.js moves the focus once the document is parsed: wait for it, not just for the summary
    page.wait_for_function("document.activeElement && document.activeElement.id === 'error-summary'")
    assert page.locator("#error-summary a[href='#f-parcel_address']").count() == 1
    assert page.input_value("#f-applicant_full_name") == "Nguyễn Văn An"
    assert page.input_value("#f-parcel_number") == "5"
    assert page.input_value("#f-land_use_purpose") == "ODT"
    assert page.input_value("#f-missing_items") == "Bản vẽ\nSơ đồ nhà"
    assert page.is_checked("#step-form input[name=reception_result][value=accept]")
    assert "Cần nhập thông tin này." in page.inner_text("[data-field=parcel_address]")
    shot(page, "task-errors")
    page.click("#error-summary a[href='#f-parcel_address']")
    assert page.evaluate("document.activeElement.id") == "f-parcel_address"


def test_a_task_held_by_a_colleague_is_read_only_with_ask_to_take_over(app, page, server, api):  # noqa: F811
    body = api.post("/dossiers", "reception.00070", json={
        "procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "channel": 1,
        "applicant": APPLICANT, "data": BIRTH}).get_json()
    tid = next(t["id"] for t in body["current_tasks"] if t["step_id"] == "Task_Record")
    assert api.post(f"/tasks/{tid}/claim", "specialist.00070").status_code == 200
    with app.app_context():
        create_user(db.session, "specialist2.00070", "demo1234", [("specialist", "00070")], full_name="Phạm Thu Trang")
        holder = db.session.scalar(select(User).where(User.username == "specialist.00070"))
        holder_name, holder_id = holder.full_name or holder.username, holder.id
        db.session.commit()

    login(page, server, "specialist2.00070")
    page.wait_for_selector("header")
    page.goto(f"{server}/admin/tasks/{tid}")
    page.wait_for_selector("#held-by")
    assert holder_name in page.inner_text("#holder") and holder_name in page.inner_text("#held-by")
    assert page.locator("#complete").count() == 0
    assert page.is_disabled("#f-days_since_birth") and page.is_disabled("#f-check_result")
    shot(page, "task-held")
    page.click("#ask-takeover")
    page.wait_for_selector(".flash.ok")
    assert holder_name in page.inner_text(".flash.ok")
    with app.app_context():
        assert db.session.query(Notification).filter_by(kind="takeover_request", user_id=holder_id).count() == 1
