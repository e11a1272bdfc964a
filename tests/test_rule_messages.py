"""The rules' sentences reach each reader in their language: services and the engine write them in
Vietnamese with `orchestrator.i18n.vi`, the English catalogue has every one, and the API (by
Accept-Language) and the back office (by its language switch) render them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from orchestrator.i18n import Text, both, render, vi

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "admin" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
ERRORS = {"ServiceError", "Invalid", "Unauthenticated", "Forbidden", "NotFound", "Conflict", "TooLarge",
          "Rejected", "Problem", "DiagramRejected"}
SOURCES = sorted(p.relative_to(ROOT).as_posix() for folder in ("orchestrator/services", "orchestrator/engine")
                 for p in (ROOT / folder).glob("*.py"))


def _plain_texts(path: Path) -> list[str]:
    """Sentences written as bare literals where a reader sees them: the message of an error or a
    diagram problem, and the values of an error's `fields`."""
    found = []

    def literal(node) -> bool:
        return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)
                                                   and any(c.isalpha() for c in node.value))

    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name not in ERRORS:
            continue
        if node.args and literal(node.args[0]):
            found.append(f"{path.name}:{node.lineno}")
        for kw in node.keywords:
            if kw.arg in ("fields", "message") and isinstance(kw.value, ast.Dict):
                found += [f"{path.name}:{v.lineno}" for v in kw.value.values if literal(v)]
            elif kw.arg == "message" and literal(kw.value):
                found.append(f"{path.name}:{kw.value.lineno}")
    return found


@pytest.mark.parametrize("source", SOURCES)
def test_the_rules_write_their_sentences_with_vi(source):
    assert _plain_texts(ROOT / source) == []


def test_every_sentence_of_the_rules_has_its_english():
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh, locale="en")
    sentences = {msgid for _file, _line, msgid, _comments, _context in
                 extract_from_dir(str(ROOT / "orchestrator"), method_map=[("**.py", "python")],
                                  keywords={"vi": None}, comment_tags=())}
    missing = sorted(m for m in sentences if not (catalogue.get(m) and catalogue.get(m).string))
    assert len(sentences) > 300 and missing == [], missing[:20]
    broken = sorted(m for m in sentences if catalogue.get(m) and
                    set(_names(m)) != set(_names(catalogue.get(m).string)))
    assert broken == [], "an English sentence must keep the same %(name)s values: " + repr(broken[:10])


def _names(template: str) -> list[str]:
    import re
    return re.findall(r"%\((\w+)\)", template)


def test_a_sentence_is_the_vietnamese_text_and_renders_in_english():
    text = vi("Không có thủ tục %(code)s.", code="1.001193")
    assert text == "Không có thủ tục 1.001193." and isinstance(text, str)
    english = {"Không có thủ tục %(code)s.": "There is no procedure %(code)s."}
    assert render(text, lambda m: english.get(m, m)) == "There is no procedure 1.001193."
    assert render({"a": [text]}, lambda m: english.get(m, m)) == {"a": ["There is no procedure 1.001193."]}
    assert render(text, None) is text
    assert render(both("Phải là số.", "Must be a number."), lambda m: m) == "Must be a number."
    import pickle
    assert pickle.loads(pickle.dumps(text)).params == {"code": "1.001193"}
    assert isinstance(pickle.loads(pickle.dumps(text)), Text)


def english(msgid: str, **params) -> str:
    with CATALOGUE.open("rb") as fh:
        entry = read_po(fh, locale="en").get(msgid)
    assert entry is not None and entry.string, msgid
    return entry.string % params if params else entry.string


ONLINE = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070",
          "applicant": {"full_name": "Lê Thị Hoa"}, "data": {}}
EN = {"Accept-Language": "en"}
NOT_PAYING = "Hồ sơ không ở trạng thái chờ thực hiện nghĩa vụ tài chính."


def test_the_api_says_the_rules_in_vietnamese_or_in_english_on_request(api, api_key):
    key = api_key()
    code = api.post("/dossiers", key, json=ONLINE).get_json()["code"]
    bearer = api.headers(key)

    r = api.client.post(f"/api/v1/dossiers/{code}/events/payment_received", json={"data": {}}, headers=bearer)
    assert r.status_code == 409 and r.get_json()["error"]["message"] == NOT_PAYING
    r = api.client.post(f"/api/v1/dossiers/{code}/events/payment_received", json={"data": {}}, headers={**bearer, **EN})
    assert r.status_code == 409 and r.get_json()["error"]["message"] == english(NOT_PAYING)
    assert r.get_json()["error"]["code"] == "not_waiting"

    r = api.client.get("/api/v1/dossiers/00070-261201-9999", headers={**bearer, **EN})
    assert r.status_code == 404
    assert r.get_json()["error"]["message"] == english("Không tìm thấy hồ sơ %(code)s.", code="00070-261201-9999")

    task = api.get(f"/dossiers/{code}", "reception.00070").get_json()["current_tasks"][0]["id"]
    bad = {"data": {"requester_id_number": "123", "mother_birth_year": 1800}}
    r = api.client.post(f"/api/v1/tasks/{task}/complete", json=bad, headers={**api.headers("reception.00070"), **EN})
    error = r.get_json()["error"]
    assert r.status_code == 400 and error["code"] == "invalid_form"
    assert error["message"] == "The form data is not valid."
    assert error["fields"]["requester_id_number"] == "Must be exactly 12 digits."
    assert error["fields"]["mother_birth_year"] == "Must be at least 1900."
    r = api.post(f"/tasks/{task}/complete", "reception.00070", json=bad)
    assert r.get_json()["error"]["fields"]["requester_id_number"] == "Cần đúng 12 chữ số."


def test_the_back_office_in_english_says_the_rules_in_english(client, api, api_key):
    from .admin_client import BackOffice

    code = api.post("/dossiers", api_key(), json=ONLINE).get_json()["code"]
    office = BackOffice(client)
    assert office.login("reception.00070").status_code == 302
    page = office.post(f"/dossiers/{code}/events/payment_received", referrer=f"/dossiers/{code}", follow=True)
    assert NOT_PAYING in office.text(page)
    office.get("/lang/en")
    page = office.post(f"/dossiers/{code}/events/payment_received", referrer=f"/dossiers/{code}", follow=True)
    text = office.text(page)
    assert english(NOT_PAYING) in text and NOT_PAYING not in text
    missing = office.get("/dossiers/00070-261201-9999")
    assert missing.status_code == 404
    assert english("Không tìm thấy hồ sơ %(code)s.", code="00070-261201-9999") in office.text(missing)
