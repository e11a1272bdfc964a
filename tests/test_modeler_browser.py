"""Issue 22 (modeler) in Chromium at 1366x768: the palette (start event included) and Save are on
screen without scrolling; the properties panel edits a step's name and deadline and, for a flow
out of a gateway, builds the condition from a field picked among the forms before the gateway;
two saves leave exactly one draft with every edit. The form editor previews the form as the
officer will see it, with Vietnamese type names."""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import ProcedureVersion

from .test_admin_browser import ROOT, browser, laptop, login, server, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.sqlite_only
CODE = "1.001193"
BUNDLE = ROOT / "build" / "admin-assets" / "modeler.bundle.js"


@pytest.fixture(autouse=True)
def _bundle():
    """The modeler bundle is built by `make venv` (npm ci, then esbuild); in CI it must be there."""
    if not BUNDLE.exists():
        message = f"{BUNDLE} missing: run make venv (npm ci + esbuild)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _on_screen(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= 768 and box["x"] + box["width"] <= 1366


def _drafts(app) -> list[ProcedureVersion]:
    with app.app_context():
        return db.session.scalars(select(ProcedureVersion).where(
            ProcedureVersion.procedure_code == CODE, ProcedureVersion.state == "draft")).all()


def test_designer_edits_properties_and_saves_twice_into_one_draft(app, laptop, server):  # noqa: F811
    page = laptop
    login(page, server, "designer.VN")
    page.wait_for_selector("header")
    page.goto(f"{server}/admin/procedures/{CODE}/v/1/modeler")
    page.wait_for_selector("#modeler[data-ready='1']")
    assert _on_screen(page, ".djs-palette [data-action='create.start-event']")
    assert _on_screen(page, "#save-model")
    assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight")

    page.click(".djs-element[data-element-id=Task_Record] .djs-hit")
    page.wait_for_selector("#bio-properties-panel-product-deadline")
    page.fill("#bio-properties-panel-product-name", "Ghi Sổ đăng ký khai sinh")
    page.fill("#bio-properties-panel-product-deadline", "2")
    page.wait_for_timeout(600)  # the panel's input debounce
    shot(page, "modeler-properties")
    page.click("#save-model")
    page.wait_for_selector("#modeler-form[data-saved='1']")
    assert "Đã tạo bản nháp" in page.inner_text("#modeler-status")
    drafts = _drafts(app)
    assert len(drafts) == 1
    number = drafts[0].version
    assert page.url.endswith(f"/v/{number}/modeler")

    # the condition of "Tiếp nhận" from a field of the reception step, picked not typed
    # (its label lies over the line's middle: select the flow as a click on the line does)
    page.evaluate("r => bpmnModeler.get('selection').select(bpmnModeler.get('elementRegistry').get(r))", "Flow_Accept")
    page.wait_for_selector("#bio-properties-panel-product-field")
    assert "reception_result" in page.inner_text("#bio-properties-panel-product-field")
    page.select_option("#bio-properties-panel-product-field", "reception_result")
    page.wait_for_selector("#bio-properties-panel-product-value")
    page.select_option("#bio-properties-panel-product-value", "accept")
    expect(page.locator("#bio-properties-panel-product-condition")).to_have_value('reception_result == "accept"')
    shot(page, "modeler-condition-picker")
    page.click("#save-model")
    page.wait_for_selector("#modeler-form[data-saved='2']")
    assert "Đã lưu vào bản nháp" in page.inner_text("#modeler-status")

    drafts = _drafts(app)
    assert [d.version for d in drafts] == [number]  # one draft, both saves in it
    steps = {t["id"]: t for t in drafts[0].model["user_tasks"]}
    assert steps["Task_Record"]["name"] == "Ghi Sổ đăng ký khai sinh" and steps["Task_Record"]["step_days"] == 2
    assert 'reception_result == "accept"' in drafts[0].bpmn_xml


def test_a_stale_save_is_shown_on_the_page_and_the_drawing_stays(app, browser, server):  # noqa: F811
    first, second = browser.new_context(viewport={"width": 1366, "height": 768}), \
        browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        a, b = first.new_page(), second.new_page()
        for page in (a, b):
            login(page, server, "designer.VN")
            page.wait_for_selector("header")
        a.goto(f"{server}/admin/procedures/{CODE}/v/1/modeler")
        a.wait_for_selector("#modeler[data-ready='1']")
        a.click("#save-model")  # the draft
        a.wait_for_selector("#modeler-form[data-saved='1']")
        b.goto(a.url)  # another tab on the same draft
        b.wait_for_selector("#modeler[data-ready='1']")
        b.click(".djs-element[data-element-id=Task_Sign] .djs-hit")
        b.fill("#bio-properties-panel-product-name", "Ký số Giấy khai sinh")
        b.wait_for_timeout(600)
        b.click("#save-model")
        b.wait_for_selector("#modeler-form[data-saved='1']")
        a.click(".djs-element[data-element-id=Task_Sign] .djs-hit")
        a.fill("#bio-properties-panel-product-name", "Ký Giấy khai sinh (bản của tab A)")
        a.wait_for_timeout(600)
        a.click("#save-model")
        a.wait_for_selector("#modeler-error[data-code=stale]")
        assert "thay đổi ở nơi khác" in a.inner_text("#modeler-error")
        assert a.evaluate("bpmnModeler.get('elementRegistry').get('Task_Sign').businessObject.name") == \
            "Ký Giấy khai sinh (bản của tab A)"
        shot(a, "modeler-stale-save")
        drafts = _drafts(app)
        assert len(drafts) == 1 and "Ký số Giấy khai sinh" in drafts[0].bpmn_xml
    finally:
        first.close()
        second.close()


def test_form_editor_previews_the_form_with_vietnamese_type_names(app, laptop, server):  # noqa: F811
    page = laptop
    login(page, server, "designer.VN")
    page.wait_for_selector("header")
    with app.app_context():
        from orchestrator.services import designer
        from orchestrator.services.auth import actor_for_user
        from orchestrator.models import User
        actor = actor_for_user(db.session, db.session.scalar(select(User).where(User.username == "designer.VN")))
        number = designer.draft_from(db.session, actor, CODE, 1).version
        db.session.commit()
    page.goto(f"{server}/admin/procedures/{CODE}/v/{number}/tasks/Task_Record/fields")
    page.wait_for_selector("#fields-preview-body .field")
    types = page.locator("select[name=type_0] option").all_inner_texts()
    assert {"Văn bản", "Số", "Ngày", "Có/Không"} <= set(types) and "string" not in types
    before = page.locator("#fields-preview-body .field").count()

    page.click("#add-field")
    row = page.locator("#fields-rows tr").last
    row.locator("input[name^=name_]").fill("ngay_cap")
    row.locator("input[name^=label_]").fill("Ngày cấp")
    row.locator("select[name^=type_]").select_option("date")
    row.locator("input[name^=required_]").check()
    assert page.locator("#fields-preview-body .field").count() == before + 1
    added = page.locator("#fields-preview-body [data-field=ngay_cap]")
    assert added.locator("label").inner_text() == "Ngày cấp * (Ngày)"
    assert added.locator("input").get_attribute("type") == "date"
    spare = page.locator("#fields-rows tr").nth(-2)  # the row that was already empty
    spare.locator("input[name^=name_]").fill("ket_qua")
    spare.locator("input[name^=label_]").fill("Kết quả")
    spare.locator("input[name^=choices_]").fill("Đạt, Không đạt")
    choice = page.locator("#fields-preview-body [data-field=ket_qua]")
    assert "(Chọn một)" in choice.locator("label").inner_text()
    assert choice.locator("select option").all_inner_texts() == ["—", "Đạt", "Không đạt"]
    shot(page, "form-editor-preview")
    page.click("#fields-form button[type=submit]")
    page.wait_for_selector("text=Đã lưu biểu mẫu riêng của bước")
    with app.app_context():
        version = db.session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_code == CODE,
                                                                   ProcedureVersion.version == number))
        key = next(t["form_key"] for t in version.model["user_tasks"] if t["id"] == "Task_Record")
        from orchestrator.models import FormDefinition
        props = db.session.get(FormDefinition, key).definition["schema"]["properties"]
        assert props["ngay_cap"]["format"] == "date" and props["ket_qua"]["enum"] == ["Đạt", "Không đạt"]
