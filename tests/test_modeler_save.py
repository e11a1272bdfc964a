"""Issue 22 (modeler): a save goes into the draft it opened, never a new version per click; a
published version gives one draft on the first save, which later saves update; a save that
started from an older state of the draft is refused (409) and stores nothing; step properties
set beside the diagram are validated by the designer's services."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from orchestrator.extensions import db
from orchestrator.models import ProcedureVersion, User
from orchestrator.services import designer, modeler
from orchestrator.services.auth import actor_for_user
from orchestrator.services.errors import Conflict, Invalid

CODE = "1.001193"
LIMIT = 4 * 1024 * 1024


def _actor(username: str = "designer.VN"):
    return actor_for_user(db.session, db.session.scalar(select(User).where(User.username == username)))


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(ProcedureVersion)
                             .where(ProcedureVersion.procedure_code == CODE))


def _xml(version, old: str, new: str) -> bytes:
    assert old in version.bpmn_xml
    return version.bpmn_xml.replace(old, new).encode("utf-8")


def test_saves_from_a_published_version_make_one_draft_then_update_it(app):
    with app.app_context():
        actor, before = _actor(), _count()
        published = designer.get_for_view(db.session, actor, CODE, 1)
        start = modeler.page_data(db.session, published)
        assert start["fields"]["Task_Reception"] and start["flows"]["Flow_Accept"]["condition"]
        draft, created = modeler.save(
            db.session, actor, CODE, 1, _xml(published, "Kiểm tra, ghi Sổ", "Ghi Sổ"), base=start["revision"],
            properties={"tasks": {"Task_Record": {"deadline_days": "2"}}}, max_bytes=LIMIT)
        db.session.commit()
        assert created and _count() == before + 1
        number, revision = draft.version, modeler.revision(draft)
        # the page now saves into the draft: same version, both edits kept
        again, created = modeler.save(
            db.session, actor, CODE, number, _xml(draft, "Ký Giấy khai sinh", "Ký và đóng dấu Giấy khai sinh"),
            base=revision, properties={"flows": {"Flow_Accept": {"condition": 'reception_result == "accept"'}}},
            max_bytes=LIMIT)
        db.session.commit()
        assert not created and again.version == number and _count() == before + 1
        saved = db.session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_code == CODE,
                                                                 ProcedureVersion.version == number))
        steps = {t["id"]: t for t in saved.model["user_tasks"]}
        assert steps["Task_Record"]["name"].startswith("Ghi Sổ") and steps["Task_Record"]["step_days"] == 2
        assert steps["Task_Sign"]["name"] == "Ký và đóng dấu Giấy khai sinh"
        assert 'reception_result == "accept"' in saved.bpmn_xml
        assert designer.get_for_view(db.session, actor, CODE, 1).bpmn_xml == published.bpmn_xml  # untouched


def test_a_stale_save_is_refused_with_409_and_stores_nothing(app):
    with app.app_context():
        actor = _actor()
        draft = designer.draft_from(db.session, actor, CODE, 1)
        db.session.commit()
        number, opened = draft.version, modeler.revision(draft)
        # another tab changes the draft after this page opened it
        designer.set_step_deadline(db.session, actor, CODE, number, "Task_Sign", "3", "days")
        db.session.commit()
        xml_now, before = draft.bpmn_xml, _count()
        with pytest.raises(Conflict) as caught:
            modeler.save(db.session, actor, CODE, number, _xml(draft, "Ký Giấy khai sinh", "Ký"), base=opened,
                         properties={}, max_bytes=LIMIT)
        db.session.rollback()
        assert caught.value.status == 409 and caught.value.code == "stale"
        assert "thay đổi ở nơi khác" in caught.value.message
        db.session.expire_all()
        kept = db.session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_code == CODE,
                                                                ProcedureVersion.version == number))
        assert kept.bpmn_xml == xml_now and _count() == before


def test_a_bad_property_is_refused_by_the_designer_services_and_nothing_is_stored(app):
    with app.app_context():
        actor = _actor()
        draft = designer.draft_from(db.session, actor, CODE, 1)
        db.session.commit()
        number, base, xml = draft.version, modeler.revision(draft), draft.bpmn_xml
        with pytest.raises(Invalid) as caught:
            modeler.save(db.session, actor, CODE, number, _xml(draft, "Ký Giấy khai sinh", "Ký"), base=base,
                         properties={"tasks": {"Task_Sign": {"deadline_days": "-4"}}}, max_bytes=LIMIT)
        db.session.rollback()
        assert "Task_Sign.amount" in caught.value.fields
        with pytest.raises(Invalid):
            modeler.save(db.session, actor, CODE, number, draft.bpmn_xml.encode(), base=base,
                         properties={"lanes": {"Lane_Leader": {"level": "moon", "role": "leader"}}}, max_bytes=LIMIT)
        db.session.rollback()
        db.session.expire_all()
        assert designer.get_for_view(db.session, actor, CODE, number).bpmn_xml == xml


def _post_json(office, path: str, body: dict):
    """What modeler.js sends: JSON with the CSRF token in a header."""
    return office.client.post(f"/admin{path}", json=body, headers={"X-CSRFToken": office._token()})


def test_the_page_saves_with_json_and_shows_409_without_leaving(app, client):
    from .admin_client import BackOffice
    office = BackOffice(client)
    office.login("designer.VN")
    page = office.get(f"/procedures/{CODE}/v/1/modeler")
    assert page.status_code == 200 and "modeler-data" in office.text(page)
    with app.app_context():
        published = designer.get_for_view(db.session, _actor(), CODE, 1)
        xml, base = published.bpmn_xml, modeler.revision(published)
    r = _post_json(office, f"/procedures/{CODE}/v/1/modeler", {"xml": xml, "base": base, "properties": {}})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["created"] and body["url"].endswith(f"/v/{body['number']}/modeler")
    r = _post_json(office, body["url"].replace("/admin", "", 1), {"xml": xml, "base": "stale", "properties": {}})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "stale"
    r = _post_json(office, body["url"].replace("/admin", "", 1),
                         {"xml": xml, "base": body["data"]["revision"], "properties": {}})
    assert r.status_code == 200 and r.get_json()["number"] == body["number"] and not r.get_json()["created"]
