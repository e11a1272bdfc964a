"""Thái Nguyên's business household variant, drawn in Camunda Modeler: team-named lanes mapped in
the catalogue, camunda:formKey, ${...} conditions and camunda:candidateGroups as a lane mapping."""
from __future__ import annotations

HKD = {"reception_result": "accept", "business_name": "Hộ kinh doanh Tạp hóa Minh Anh",
       "business_address": "Tổ 5, phường Phan Đình Phùng", "business_lines": ["Bán lẻ thực phẩm"],
       "capital_vnd": 150000000, "employees_count": 2, "members_count": 1, "members_agreement_attached": False,
       "owner_full_name": "Hoàng Minh Anh", "owner_id_number": "019190001234", "owner_date_of_birth": "1990-04-12",
       "owner_sex": "female", "owner_residence": "Phường Phan Đình Phùng, Thái Nguyên", "owner_phone": "0912000111",
       "filed_by_proxy": False}


def complete(api, who, task, data):
    r = api.post(f"/tasks/{task['id']}/complete", who, json={"data": data})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_thai_nguyen_camunda_variant_runs_with_its_own_steps(app, api):
    r = api.post("/dossiers", "reception.05443", json={
        "procedure_code": "1.001612", "province_code": "19", "commune_code": "05443",
        "applicant": {"full_name": HKD["owner_full_name"]},
        "data": {k: v for k, v in HKD.items() if k != "reception_result"}})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["procedure_scope"] == "19" and body["status"] == 4
    versions = api.get("/procedures/1.001612/versions", "designer.19").get_json()["items"]
    tn = [v for v in versions if v["scope"] == "19"][0]
    assert tn["dialect"] == "camunda" and tn["deadline_days"] == 2
    assert {lane["id"]: lane["mapped_to"] for lane in tn["lanes"]}["Lane_MotCua"] == "commune/reception"
    [check] = body["current_tasks"]
    assert (check["unit_code"], check["role"]) == ("05443", "specialist")
    # ${conditional_business_line} routes to the on-site verification only Thái Nguyên has.
    body = complete(api, "specialist.05443", check, {"documents_valid": True, "name_duplicate": False,
                                                     "name_violates_rules": False, "conditional_business_line": True})
    [site] = body["current_tasks"]
    assert site["step_id"] == "Task_SiteVerification"
    body = complete(api, "specialist.05443", site, {"site_verification_result": "conform",
                                                    "site_verification_date": "2026-11-27"})
    [sign] = body["current_tasks"]
    # The leader lane is named after a team; its task's candidateGroups gives the route.
    assert (sign["step_id"], sign["unit_code"], sign["role"]) == ("Task_Sign", "05443", "leader")
    body = complete(api, "leader.05443", sign, {"decision": "approve", "registration_number": "19A8000123"})
    assert body["status"] == 9
    [ret] = body["current_tasks"]
    body = complete(api, "reception.05443", ret, {"delivery_method": "online", "result_number": "19A8000123"})
    assert body["status"] == 10


def test_hanoi_variant_receives_at_the_service_center(app, api):
    r = api.post("/dossiers", "reception.01.TTPVHCC", json={
        "procedure_code": "1.001612", "province_code": "01", "commune_code": "00070",
        "received_by_unit": "01.TTPVHCC", "applicant": {"full_name": HKD["owner_full_name"]},
        "data": {**{k: v for k, v in HKD.items() if k != "reception_result"}, "owner_id_number": "001190001234"}})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["code"].startswith("01.TTPVHCC-") and body["procedure_scope"] == "01"
    [task] = body["current_tasks"]
    # Hà Nội adds a commune leader pre-review before the economic division checks.
    assert (task["unit_code"], task["role"]) == ("00070", "leader")
