"""Plain language in the back office (issue 19, point 3): form data with the form's labels, the
history as sentences naming people by full name and title, roles, levels, states and messages in
the page's language; the API's history keeps its `action` codes and adds `text`."""
from __future__ import annotations

import ast
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from sqlalchemy import event as sa_event

from orchestrator.extensions import db
from orchestrator.models import AuditEvent, User
from orchestrator.models.dossiers import TRANSITIONS
from orchestrator.services import history_text

from .admin_client import BackOffice

ROOT = Path(__file__).resolve().parents[1]
BIRTH = json.loads((ROOT / "examples" / "birth_dossier.json").read_text(encoding="utf-8"))
RECEPTION, SPECIALIST, LEADER = "reception.00070", "specialist.00070", "leader.00070"
RECORD = {"check_result": "valid", "days_since_birth": 10, "fee_exempt_group": False,
          "child_personal_id": "001226012345", "register_book_number": "01/2026"}
# what an officer must never read on a Vietnamese page: the codes of roles, levels and states
CODES = re.compile(r"\b(reception|specialist|leader|supervisor|designer|commune|province|department|"
                   r"open|completed|cancelled|draft|published|request-supplement|child_sex|fee_exempt_group)\b(?![.@])")


class _Visible(HTMLParser):
    """The text a person reads: no markup, no attribute, no script, no drawn diagram, no code."""

    SKIP = {"script", "style", "svg", "code", "template", "textarea"}

    def __init__(self):
        super().__init__()
        self.depth, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def section(html: str, element_id: str) -> str:
    """The visible text of the element with that id (a <dl> or an <ol>)."""
    match = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, element_id
    return visible(match.group(2))


def _office(client, who: str, lang: str = "vi") -> BackOffice:
    office = BackOffice(client)
    assert office.login(who).status_code == 302
    if lang != "vi":
        office.get(f"/lang/{lang}")
    return office


def _name(app, username: str, full_name: str, title: str | None) -> None:
    with app.app_context():
        user = db.session.query(User).filter_by(username=username).one()
        user.full_name, user.title = full_name, title
        db.session.commit()


def _birth_recorded(app, api, api_key) -> dict:
    """A birth registration submitted online at commune 00070, accepted at reception and checked
    by the civil-status officer (the example's data: `child_sex` male, `fee_exempt_group` False)."""
    _name(app, RECEPTION, "Nguyễn Văn An", "Công chức một cửa")
    _name(app, SPECIALIST, "Trần Thị Bích", "Công chức tư pháp - hộ tịch")
    _name(app, LEADER, "Lê Minh Cường", "Chủ tịch UBND phường")
    r = api.post("/dossiers", api_key(), json={**BIRTH, "channel": 2})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    reception = next(t for t in body["current_tasks"] if t["step_id"] == "Task_Reception")
    r = api.post(f"/tasks/{reception['id']}/complete", RECEPTION,
                 json={"data": {**BIRTH["data"], "reception_result": "accept"}})
    assert r.status_code == 200, r.get_json()
    record = next(t for t in r.get_json()["current_tasks"] if t["step_id"] == "Task_Record")
    r = api.post(f"/tasks/{record['id']}/complete", SPECIALIST, json={"data": RECORD})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


# -- 1. form data with the form's labels ------------------------------------------------------

def test_task_page_shows_earlier_data_with_labels_in_both_languages(app, api, api_key, client):
    body = _birth_recorded(app, api, api_key)
    sign = next(t for t in body["current_tasks"] if t["step_id"] == "Task_Sign")
    office = _office(client, LEADER)
    page = office.text(office.get(f"/tasks/{sign['id']}"))
    data = section(page, "earlier-data")
    assert "Giới tính Nam" in data and "child_sex" not in data and "male" not in data
    assert "Ngày, tháng, năm sinh 20/11/2026" in data and "2026-11-20" not in data
    assert "Giấy tờ chứng minh việc sinh Giấy chứng sinh" in data
    assert "Thuộc diện miễn lệ phí (hộ nghèo, người có công, người khuyết tật) Không" in data
    assert "False" not in data and "fee_exempt_group" not in data
    english = _office(app.test_client(), LEADER, "en")
    data = section(english.text(english.get(f"/tasks/{sign['id']}")), "earlier-data")
    assert "Sex Male" in data and "Date of birth 20/11/2026" in data and "Giới tính" not in data
    assert "Fee-exempt group (poor household, person with meritorious services, disability) No" in data
    dossier_page = english.text(english.get(f"/dossiers/{body['code']}"))
    assert "Proof of birth Birth certificate from the hospital" in section(dossier_page, "dossier-data")


def test_readable_values_lists_nested_objects_and_undeclared_keys():
    from admin.formdata import readable

    form = {"schema": {"properties": {
        "items": {"type": "array", "title": "Thành phần", "x-title-en": "Items", "items": {"type": "string"}},
        "owner": {"type": "object", "title": "Chủ sử dụng", "properties": {
            "married": {"type": "boolean", "title": "Đã kết hôn", "x-title-en": "Married"}}},
        "kind": {"type": "string", "title": "Loại", "enum": ["a", "b"], "x-enum-labels": {"vi": ["Loại A", "Loại B"]}},
    }}, "ui": {"ui:order": ["kind"]}}
    shown = readable([form], {"extra_note": "x", "owner": {"married": True, "age": 40},
                              "items": ["Đơn", "Bản vẽ"], "kind": "b"})
    assert [s.label for s in shown] == ["Loại", "Thành phần", "Chủ sử dụng", "Extra note"]
    assert shown[0].text == "Loại B"  # no English labels: the Vietnamese ones
    assert [i.text for i in shown[1].items] == ["Đơn", "Bản vẽ"]
    assert [(i.label, i.text) for i in shown[2].items] == [("Đã kết hôn", "Có"), ("Age", "40")]
    english = readable([form], {"owner": {"married": False}, "items": []}, "en")
    assert [(s.label, s.items[0].text if s.items else s.text) for s in english] == \
        [("Items", "—"), ("Chủ sử dụng", "No")]


# -- 2. the history as sentences ----------------------------------------------------------------

def test_history_reads_as_sentences_with_full_names_and_titles(app, api, api_key, client):
    body = _birth_recorded(app, api, api_key)
    office = _office(client, LEADER)
    history = section(office.text(office.get(f"/dossiers/{body['code']}")), "history")
    assert "Nguyễn Văn An (Công chức một cửa) đã hoàn thành bước “Tiếp nhận, kiểm tra hồ sơ”" in history
    assert "Trần Thị Bích (Công chức tư pháp - hộ tịch) đã hoàn thành bước “Kiểm tra, ghi Sổ đăng ký khai sinh”" \
        in history
    assert "Cổng dịch vụ công (portal) đã tạo hồ sơ nộp trực tuyến" in history
    assert "Task_Record" not in history and "complete" not in history and "created" not in history
    english = _office(app.test_client(), LEADER, "en")
    history = section(english.text(english.get(f"/dossiers/{body['code']}")), "history")
    assert "Nguyễn Văn An (Công chức một cửa) completed the step “Tiếp nhận, kiểm tra hồ sơ”" in history
    assert "The public service portal (portal) created the dossier submitted online" in history
    assert "đã hoàn thành" not in history


def test_sentences_for_system_citizen_and_decision_events():
    def say(action, actor="system", lang="vi", **kw):
        return history_text.sentence(AuditEvent(action=action, actor=actor, **kw), ctx, lang)

    form = {"schema": {"properties": {"decision": {"enum": ["approve", "reject"],
                                                   "x-enum-labels": {"vi": ["Phê duyệt", "Từ chối"]}}}}}
    ctx = history_text.Context({"leader.x": ("Lê Minh Cường", "Chủ tịch UBND phường"),
                                "specialist.y": ("Trần B", None)},
                               {"Task_Sign": "Ký Giấy khai sinh"}, {"Task_Sign": form})
    assert say("reminder", "system:reminder", note="2 người nhận") == "Hệ thống gửi nhắc hạn đến 2 người"
    assert say("reminder", "system:reminder", "en", note="quá hạn: 3 người nhận") == \
        "The system sent an overdue warning to 3 people"
    assert say("supplement_submitted", "integrator:portal").startswith("Công dân nộp bổ sung hồ sơ")
    assert say("decided", "leader.x", step_id="Task_Sign", note="approve") == \
        "Lê Minh Cường (Chủ tịch UBND phường) đã quyết định “Phê duyệt” tại bước “Ký Giấy khai sinh”"
    assert say("assign", "leader.x", step_id="Task_Sign", note="giao cho specialist.y") == \
        "Lê Minh Cường (Chủ tịch UBND phường) đã giao bước “Ký Giấy khai sinh” cho Trần B"
    assert say("refused", "unknown.user", note="Thiếu giấy tờ") == \
        "unknown.user đã từ chối tiếp nhận hồ sơ. Lý do: Thiếu giấy tờ"
    assert say("returned", "specialist.y", "en", note="post") == \
        "The dossier ended: result returned (by public postal service)"
    assert say("substitute_routed", "leader.x", step_id="Task_Sign", data={"officer": "specialist.y",
                                                                        "substitute": "leader.x"}) == \
        "Lê Minh Cường (Chủ tịch UBND phường) đã giao bước “Ký Giấy khai sinh” cho người làm thay " \
        "Lê Minh Cường (Chủ tịch UBND phường) (Trần B vắng mặt)"


def _recorded_actions() -> tuple[set[str], list[str]]:
    """Every action code a call of `audit.record` can write, read from the source: literal codes,
    both sides of a conditional, the values a variable takes in its function (assignments, the
    arguments its module's calls pass) and the status moves of `TRANSITIONS`."""
    codes, unresolved = set(), []

    def literals(node) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return literals(node.body) | literals(node.orelse)
        return set()

    for path in [p for folder in ("orchestrator", "admin", "api") for p in (ROOT / folder).rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)]
        for func in functions:
            for call in ast.walk(func):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "record" and getattr(call.func.value, "id", "") == "audit"):
                    continue
                arg = call.args[1]
                found = literals(arg)
                if isinstance(arg, ast.Name):
                    for node in ast.walk(func):
                        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == arg.id for t in node.targets):
                            found |= literals(node.value)
                            if "TRANSITIONS" in ast.dump(node.value):
                                found |= {a for moves in TRANSITIONS.values() for a in moves.values()}
                    params = [a.arg for a in func.args.args]
                    if arg.id in params:
                        index = params.index(arg.id)
                        for other in ast.walk(tree):
                            if isinstance(other, ast.Call) and getattr(other.func, "id", "") == func.name:
                                passed = [*other.args[index:index + 1], *(k.value for k in other.keywords
                                                                          if k.arg == arg.id)]
                                for value in passed:
                                    found |= literals(value)
                if not found:
                    unresolved.append(f"{path.relative_to(ROOT)}:{call.lineno}")
                codes |= found
    return codes, unresolved


def test_every_audit_action_has_a_sentence_in_both_languages():
    codes, unresolved = _recorded_actions()
    assert not unresolved, f"action codes this test cannot read: {unresolved}"
    assert {"created", "complete", "decided", "reminder", "procedure.publish", "accepted", "admin.login"} <= codes
    missing = sorted(c for c in codes if c not in history_text.SENTENCES)
    assert not missing, f"no sentence for {missing}: add them to orchestrator/services/history_text.py"
    for code, parts in history_text.SENTENCES.items():
        assert len(parts) in (2, 4) and all(parts), code
        assert parts[0] != parts[1] or parts[0].startswith("{"), code  # an English sentence, not a copy


def test_people_of_a_history_are_read_in_one_query(app, api, api_key):
    body = _birth_recorded(app, api, api_key)
    with app.app_context():
        from orchestrator.models import Dossier
        from orchestrator.services import dossiers, versions

        dossier = db.session.query(Dossier).filter_by(code=body["code"]).one()
        events = dossiers.history(db.session, dossier)
        version = versions.of(dossier)
        assert len({e.actor for e in events}) >= 3
        history_text._people.clear()

        def sentences():
            statements = []
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            sa_event.listen(db.engine, "before_cursor_execute", listener)
            try:
                return history_text.texts(db.session, events, version), statements
            finally:
                sa_event.remove(db.engine, "before_cursor_execute", listener)

        texts, statements = sentences()
        assert len(statements) == 1 and len(texts) == len(events)
        again, statements = sentences()  # the next answer about the dossier: the names are kept
        assert statements == [] and again == texts

        # a name changed in the back office is read again at once
        from orchestrator.models import User
        from orchestrator.services import administration
        from orchestrator.services.auth import actor_for_user

        admin = actor_for_user(db.session, db.session.query(User).filter_by(username="admin.VN").one())
        officer = db.session.query(User).filter_by(username=RECEPTION).one()
        administration.set_profile(db.session, admin, officer.id, "Trần Thị Bình", "Công chức một cửa")
        renamed, statements = sentences()
        assert len(statements) == 1 and any("Trần Thị Bình" in t for t in renamed)
        db.session.rollback()
        history_text._people.clear()  # the name read before the rollback


def test_api_history_keeps_action_codes_and_adds_text(app, api, api_key, client):
    body = _birth_recorded(app, api, api_key)
    entries = [h for h in body["history"] if h["action"] == "complete"]
    assert [h["step_id"] for h in entries] == ["Task_Reception", "Task_Record"]
    assert entries[0]["text"] == "Nguyễn Văn An (Công chức một cửa) đã hoàn thành bước “Tiếp nhận, kiểm tra hồ sơ”"
    headers = {**api.headers(RECEPTION), "Accept-Language": "en"}
    english = client.get(f"/api/v1/dossiers/{body['code']}", headers=headers).get_json()["history"]
    assert [h["action"] for h in english] == [h["action"] for h in body["history"]]
    assert "Nguyễn Văn An (Công chức một cửa) completed the step “Tiếp nhận, kiểm tra hồ sơ”" in \
        [h["text"] for h in english]


# -- 3. roles, levels, states and messages in the page's language ----------------------------

def test_task_header_and_flash_messages_in_plain_words(app, api, api_key, client):
    body = _birth_recorded(app, api, api_key)
    code = body["code"]
    sign = next(t for t in body["current_tasks"] if t["step_id"] == "Task_Sign")
    office = _office(client, LEADER)
    page = office.text(office.get(f"/tasks/{sign['id']}"))
    header = visible(re.search(r'<p class="meta">(.*?)</p>', page, re.S).group(1))
    assert "Lãnh đạo" in header and "đang mở" in header and not CODES.search(header)
    text = visible(page)
    assert not CODES.search(text), CODES.search(text)
    r = office.post(f"/dossiers/{code}/actions/request-supplement", {"items": "Giấy chứng sinh bản chính"},
                    referrer=f"/dossiers/{code}", follow=True)
    page = office.text(r)
    assert "Đã yêu cầu bổ sung hồ sơ. Trạng thái: Yêu cầu bổ sung." in page and "request-supplement." not in page
    assert not CODES.search(visible(page)), CODES.search(visible(page))
    assert "Lê Minh Cường (Chủ tịch UBND phường) đã yêu cầu bổ sung hồ sơ. Cần bổ sung: Giấy chứng sinh bản chính" \
        in section(page, "history")
    english = _office(app.test_client(), LEADER, "en")
    r = english.post(f"/dossiers/{code}/events/supplement_submitted", {"note": "đủ"}, referrer=f"/dossiers/{code}",
                     follow=True)
    page = english.text(r)
    assert "Recorded: the citizen submitted the supplement. Status: In progress." in page
    header = visible(re.search(r'<p class="meta">(.*?)</p>',
                               english.text(english.get(f"/tasks/{sign['id']}")), re.S).group(1))
    assert "Leader" in header and "open" in header and "Lãnh đạo" not in header


def test_users_units_and_inbox_show_roles_and_levels_by_name(app, api, api_key, client):
    _birth_recorded(app, api, api_key)
    admin = _office(client, "admin.01")
    for path, words in (("/users?q=00070", ("Công chức tiếp nhận", "Chuyên viên", "Lãnh đạo")),
                        ("/units?q=Ho%C3%A0n%20Ki%E1%BA%BFm", ("Xã, phường",))):
        page = visible(admin.text(admin.get(path)))
        assert all(w in page for w in words), (path, page[:2000])
        assert not CODES.search(page), (path, CODES.search(page))
    english = _office(app.test_client(), "admin.01", "en")
    page = visible(english.text(english.get("/users?q=00070")))
    assert "Reception officer" in page and "Công chức tiếp nhận" not in page
    audit = visible(english.text(english.get("/audit")))  # the administrators' log: sentences too
    assert "signed in" in audit and "admin.login" not in audit
    leader = _office(app.test_client(), LEADER)
    inbox = leader.text(leader.get("/inbox"))
    roles = [visible(m) for m in re.findall(r'<td class="unit-role">(.*?)</td>', inbox, re.S)]
    assert roles and all(r.endswith("Lãnh đạo") for r in roles), roles


def test_the_english_catalogue_defines_each_message_once():
    """A duplicate msgid is a fatal error for gettext's own tools (msgfmt -c)."""
    import re
    from collections import Counter
    from pathlib import Path

    text = (Path(__file__).parent.parent / "admin/translations/en/LC_MESSAGES/messages.po").read_text("utf-8")
    entries = re.findall(r'^(?:msgctxt ("(?:[^"\\]|\\.)*")\n)?msgid ((?:"(?:[^"\\]|\\.)*"\n?)+)', text, re.M)
    repeated = [k for k, n in Counter(entries).items() if n > 1]
    assert len(entries) > 500 and repeated == []
