"""Examples in the OpenAPI document: what an integrator sends and gets back on the main path (start,
read, list, events, webhooks) and the error bodies they must handle. tests/test_openapi.py checks
each against its schema, so an example cannot drift from the contract."""
from __future__ import annotations

CODE = "00070-261201-0001"
APPLICANT = {"full_name": "Nguyễn Văn An", "id_number": "001090012345", "phone": "0912345678",
             "address": "Số 5 phố Hàng Bài, phường Hoàn Kiếm, Hà Nội"}
START = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "channel": 2,
         "applicant": APPLICANT,
         "data": {"child_full_name": "Nguyễn Minh Khang", "child_sex": "male", "child_date_of_birth": "2026-11-20",
                  "mother_full_name": "Trần Thị Bích", "father_full_name": "Nguyễn Văn An"}}
BRIEF = {"code": CODE, "procedure_code": "1.001193", "procedure_version": 3, "procedure_scope": "01",
         "province_code": "01", "commune_code": "00070", "channel": 2, "status": 2, "status_name": "Đã tiếp nhận",
         "incident": False, "incident_message": None, "received_by_unit": "00070",
         "submitted_at": "2026-12-01T08:15:02+07:00", "received_at": "2026-12-01T09:02:41+07:00",
         "legal_due_at": "2026-12-02T17:00:00+07:00", "due_at": "2026-12-02T17:00:00+07:00", "finished_at": None,
         "lock_version": 3, "apologized_at": None, "updated_at": "2026-12-01T09:02:41+07:00", "payment": None,
         "paused": []}
DETAIL = {**BRIEF, "applicant": APPLICANT, "data": START["data"],
          "current_tasks": [{"id": "7f1c2e9a-3b1d-4c55-9a0e-2d6f1b8c4e21", "name": "Thẩm định hồ sơ",
                             "step_id": "Task_Review", "unit_code": "00070", "role": "specialist",
                             "assignee": None, "due_at": "2026-12-02T11:00:00+07:00"}],
          "history": [{"at": "2026-12-01T08:15:02+07:00", "actor": "integrator:Cổng DVC Hà Nội", "action": "created",
                       "from_status": None, "to_status": 1, "step_id": None, "unit_code": None, "note": None,
                       "text": "Hồ sơ được nộp trực tuyến."},
                      {"at": "2026-12-01T09:02:41+07:00", "actor": "reception.00070", "action": "complete",
                       "from_status": 1, "to_status": 2, "step_id": "Task_Receive", "unit_code": "00070",
                       "note": None, "text": "Nguyễn Thị Lan (Công chức một cửa) tiếp nhận hồ sơ."}],
          "history_url": f"/api/v1/dossiers/{BRIEF['code']}/history"}
WEBHOOK_DOSSIER = {key: BRIEF[key] for key in ("code", "procedure_code", "province_code", "commune_code", "status",
                                               "status_name", "received_at", "due_at", "finished_at", "incident")}
WEBHOOKS = {
    "dossier.created": {"delivery_id": "b6a4f3d2-5e1c-4f7a-8d9b-0c2e1f3a4b5c", "type": "dossier.created",
                        "occurred_at": "2026-12-01T08:15:02+07:00", "sequence": 1,
                        "dossier": {**WEBHOOK_DOSSIER, "status": 1, "status_name": "Mới đăng ký",
                                    "received_at": None, "due_at": None}, "data": {}},
    "dossier.status_changed": {"delivery_id": "0d9e8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b", "type": "dossier.status_changed",
                               "occurred_at": "2026-12-01T09:02:41+07:00", "sequence": 2,
                               "dossier": WEBHOOK_DOSSIER, "data": {"from_status": 1, "to_status": 2}},
    "dossier.event": {"delivery_id": "5c4b3a29-1807-4f6e-9d5c-4b3a2f1e0d9c", "type": "dossier.event",
                      "occurred_at": "2026-12-01T10:20:00+07:00", "sequence": 3,
                      "dossier": {**WEBHOOK_DOSSIER, "status": 4, "status_name": "Đang giải quyết"},
                      "data": {"name": "payment_received"}},
    "dossier.incident": {"delivery_id": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "type": "dossier.incident",
                         "occurred_at": "2026-12-01T10:21:07+07:00", "sequence": 4,
                         "dossier": {**WEBHOOK_DOSSIER, "status": 4, "status_name": "Đang giải quyết",
                                     "incident": True}, "data": {"step_id": "Service_Population"}},
}

# operationId -> {"request": body, "<status>": answer}
OPERATIONS: dict[str, dict] = {
    "start_dossier": {"request": START, "201": {**DETAIL, "status": 1, "status_name": "Mới đăng ký",
                                                "received_at": None, "legal_due_at": None, "due_at": None,
                                                "lock_version": 1, "current_tasks": [], "history": DETAIL["history"][:1]}},
    "get_dossier": {"200": DETAIL},
    "list_dossier_history": {"200": {"items": DETAIL["history"], "next_cursor": "eyJhZnRlciI6NDJ9.c2lnbmVk"}},
    "list_dossiers": {"200": {"items": [BRIEF], "next_cursor": "djE6MTI4Mzc6aWQ.Jm3k1Q", "total": None,
                              "total_capped": False}},
    "send_event": {"request": {"data": {"receipt_number": "BL-2026-004512"}}},
    "subscribe_webhook": {"request": {"url": "https://dichvucong.hanoi.gov.vn/hooks/orchestrator",
                                      "event_types": ["dossier.status_changed", "dossier.event"]}},
}

# shared error answers (components/responses) -> named examples
ERRORS: dict[str, dict] = {
    "E400": {"invalid_field": {"summary": "a field refused", "value": {"error": {
        "code": "invalid", "message": "Dữ liệu gửi lên không hợp lệ.",
        "fields": {"applicant.phone": "số điện thoại không hợp lệ"}, "problems": []}}}},
    "E409": {"not_waiting": {"summary": "an event the dossier does not wait for now", "value": {"error": {
        "code": "not_waiting", "message": "Hồ sơ không ở trạng thái chờ thực hiện nghĩa vụ tài chính.",
        "fields": {}, "problems": [], "event": "payment_received", "waiting_for": []}}}},
}


def add_examples(doc: dict) -> None:
    """Put the examples above into the document as served."""
    for item in doc["paths"].values():
        for operation in item.values():
            examples = OPERATIONS.get(operation.get("operationId")) if isinstance(operation, dict) else None
            for key, value in (examples or {}).items():
                target = operation["requestBody"] if key == "request" else operation["responses"][key]
                target["content"]["application/json"]["example"] = value
    for name, examples in ERRORS.items():
        doc["components"]["responses"][name]["content"]["application/json"]["examples"] = examples
    for event, hook in doc.get("webhooks", {}).items():
        hook["post"]["requestBody"]["content"]["application/json"]["example"] = WEBHOOKS[event]
