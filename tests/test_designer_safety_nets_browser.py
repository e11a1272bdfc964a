"""Issue 22, point 1 in Chromium: a diagram whose flow points at a step that is not there is refused
on the upload page with the element named (the other fields kept, the file to choose again); a
province withdraws its variant after a confirmation page saying which dossiers keep which version."""
from __future__ import annotations

import pytest

from .flows import definitions, process, start, upload, user
from .test_admin_browser import ROOT, browser, login, page, server, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.sqlite_only
BIRTH = ROOT / "bpmn" / "national" / "1.001193.bpmn"
LANES = ('<bpmn:laneSet id="LS"><bpmn:lane id="Lane_Desk" name="commune/reception"><bpmn:flowNodeRef>Receive'
         '</bpmn:flowNodeRef></bpmn:lane><bpmn:lane id="Lane_Staff" name="commune/specialist">'
         '<bpmn:flowNodeRef>Review</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>')


def test_a_broken_upload_is_refused_with_the_element_named(page, server, tmp_path):  # noqa: F811
    broken = tmp_path / "broken.bpmn"
    broken.write_bytes(BIRTH.read_bytes().replace(b'targetRef="Task_Record"', b'targetRef="Task_Gone"', 1))
    login(page, server, "designer.01")
    page.wait_for_url("**/admin/**")
    page.goto(f"{server}/admin/procedures/upload")
    page.set_input_files("input[name=file]", str(broken))
    page.fill("input[name=code]", "7.100001")
    page.fill("input[name=name]", "Thủ tục thử sơ đồ hỏng")
    page.fill("input[name=deadline_days]", "5")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#upload-error")
    error = page.locator("#upload-error").inner_text()
    assert "Flow_Accept" in error and "Task_Gone" in error
    assert "Flow_Accept" in page.locator("table.problems").inner_text()
    assert page.locator("input[name=name]").input_value() == "Thủ tục thử sơ đồ hỏng"
    assert page.locator("input[name=deadline_days]").input_value() == "5"
    assert "chọn lại tệp" in page.locator("#file-lost").inner_text()
    shot(page, "upload-dangling-reference")


def test_a_province_withdraws_its_variant_with_a_confirmation(page, server, api):  # noqa: F811
    xml = definitions(process([user("Receive"), user("Review")], lanes=LANES))
    assert upload(api, xml, "7.100002", who="designer.VN", scope="national").status_code == 201
    assert api.post("/procedures/7.100002/versions/1/publish", "designer.VN").status_code == 200
    variant = xml.replace(b"<bpmn:definitions ", b'<bpmn:definitions exporterVersion="variant" ', 1)
    assert upload(api, variant, "7.100002").status_code == 201
    assert api.post("/procedures/7.100002/versions/2/publish", "designer.01").status_code == 200
    running = start(api, "7.100002")

    login(page, server, "designer.01")
    page.wait_for_url("**/admin/**")
    page.goto(f"{server}/admin/procedures/7.100002")
    page.click("#withdraw-01")
    page.wait_for_selector("#withdraw-effect")
    effect = page.locator("#withdraw-effect").inner_text()
    assert "Hồ sơ mới của tỉnh 01 sẽ dùng mẫu quốc gia phiên bản 1." in effect
    assert "1 hồ sơ đang xử lý giữ biến thể phiên bản 2 đến khi kết thúc." in effect
    shot(page, "withdraw-variant")
    page.check("#confirm")
    page.click("#confirm-withdraw")
    page.wait_for_selector("text=Đã rút biến thể của tỉnh 01")
    statuses = page.locator("td.status").all_inner_texts()
    assert statuses == ["Đang áp dụng", "Đã thay thế"]  # the national one in force, the variant replaced
    newcomer = start(api, "7.100002")
    assert api.get(f"/dossiers/{running['code']}", "reception.00070").get_json()["procedure_version"] == 2
    assert api.get(f"/dossiers/{newcomer['code']}", "reception.00070").get_json()["procedure_version"] == 1
