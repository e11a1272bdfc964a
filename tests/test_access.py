"""`services/access.py`, the one home of the permission rules: dossier visibility as one rule
whose Python check and SQL condition agree, and the API and the back office following the same
rule for the same action (declaring a calendar day, logging in)."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from .admin_client import PASSWORD, BackOffice
from .test_dossiers_api import APPLICANT, BIRTH

OFFICE_OF = {"00070": "reception.00070", "00454": "reception.00454", "05443": "reception.05443"}
PROVINCE_OF = {"00070": "01", "00454": "01", "05443": "19"}


def _start(api, commune: str) -> str:
    r = api.post("/dossiers", OFFICE_OF[commune], json={
        "procedure_code": "1.001193", "province_code": PROVINCE_OF[commune], "commune_code": commune,
        "channel": 1, "applicant": APPLICANT, "data": BIRTH})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["code"]


def _actors(session):
    """Users of every kind (their roles as seeded), an area role held at a commune, and keys."""
    from orchestrator.models import User
    from orchestrator.services.auth import Actor, Assignment, actor_for_user

    names = ["reception.00070", "specialist.00070", "specialist.00454", "reception.05443", "supervisor.01",
             "supervisor.19", "supervisor.VN", "admin.01", "admin.VN", "designer.01"]
    actors = {n: actor_for_user(session, session.scalar(select(User).where(User.username == n))) for n in names}
    actors["supervisor@00454"] = Actor("user", "supervisor@00454",
                                       assignments=(Assignment("supervisor", "00454", "commune", "01"),))
    actors["officer+supervisor"] = Actor("user", "officer+supervisor", assignments=(
        Assignment("specialist", "05443", "commune", "19"), Assignment("supervisor", "00454", "commune", "01")))
    for label, provinces, permissions in (("key.01:read", ("01",), {"dossiers:read"}),
                                          ("key.VN:create", ("VN",), {"dossiers:create"}),
                                          ("key.01:events", ("01",), {"events:send"}),
                                          ("key.19:read", ("19",), {"dossiers:read"})):
        actors[label] = Actor("integrator", label, provinces=provinces, permissions=frozenset(permissions))
    actors["nobody"] = Actor("user", "nobody")
    return actors


# What the rule must give for the three dossiers (00070 and 00454 in Hà Nội, 05443 in Thái Nguyên).
EXPECTED = {
    "reception.00070": {"00070"}, "specialist.00070": {"00070"}, "specialist.00454": {"00454"},
    "reception.05443": {"05443"}, "supervisor.01": {"00070", "00454"}, "supervisor.19": {"05443"},
    "supervisor.VN": {"00070", "00454", "05443"}, "admin.01": {"00070", "00454"},
    "admin.VN": {"00070", "00454", "05443"}, "designer.01": set(), "supervisor@00454": {"00454"},
    "officer+supervisor": {"00454", "05443"}, "key.01:read": {"00070", "00454"},
    "key.VN:create": {"00070", "00454", "05443"}, "key.01:events": set(), "key.19:read": {"05443"},
    "nobody": set(),
}


def test_the_python_check_and_the_sql_filter_of_visibility_agree(app, api):
    from orchestrator.extensions import db
    from orchestrator.models import Dossier, DossierParticipant
    from orchestrator.services import access, dossiers

    codes = {commune: _start(api, commune) for commune in ("00070", "00454", "05443")}
    with app.app_context():
        session = db.session
        rows = {c: session.scalar(select(Dossier).where(Dossier.code == code)) for c, code in codes.items()}
        ids = {d.id: c for c, d in rows.items()}
        for label, actor in _actors(session).items():
            rule = access.visibility(actor)
            by_sql = {ids[i] for i in session.scalars(select(Dossier.id).where(rule.condition(), Dossier.id.in_(ids)))}
            by_python = {c for c, d in rows.items() if rule.sees(session, d)}
            assert by_python == by_sql == EXPECTED[label], label
            # what the services answer comes from the same rule
            listed = dossiers.list_visible(session, actor, limit=500).items
            assert {ids[d.id] for d in listed if d.id in ids} == by_sql, label
        # With the participants a locked step has read (`Step.participants`), the Python check
        # runs no statement, and still agrees.
        known = {c: set(session.scalars(select(DossierParticipant.unit_code)
                                        .where(DossierParticipant.dossier_id == d.id))) for c, d in rows.items()}
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        actors = _actors(session)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            for label, actor in actors.items():
                seen = {c for c, d in rows.items() if access.sees_dossier(session, actor, d, known[c])}
                assert seen == EXPECTED[label], label
            assert statements == []
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)


def test_every_lifecycle_action_has_its_rule():
    from orchestrator.services import access, lifecycle

    assert set(access.LIFECYCLE_ACTIONS) == set(lifecycle.ACTIONS)


def test_officer_roles_are_defined_once():
    """Officers (the roles lanes route to) and the back office's workspace (officers and supervisors)
    are two named constants of access.py; no other module of the services or views restates them."""
    import pathlib

    from orchestrator.services import access

    assert access.OFFICER_ROLES == ("reception", "specialist", "leader")
    assert set(access.WORKSPACE_ROLES) == {*access.OFFICER_ROLES, "supervisor"}
    root = pathlib.Path(__file__).resolve().parents[1]
    sources = [p for folder in ("orchestrator/services", "api", "admin") for p in (root / folder).rglob("*.py")]
    offenders = [str(p.relative_to(root)) for p in sources
                 if p.name != "access.py" and "OFFICER_ROLES =" in p.read_text(encoding="utf-8")]
    assert offenders == []


# -- the API and the back office: the same rule for the same action ------------------------------


def _office(app, username: str | None = None) -> BackOffice:
    office = BackOffice(app.test_client())
    if username:
        assert office.login(username).status_code == 302
    else:
        office._token()
    return office


def _form_post(office: BackOffice, path: str, data: dict):
    """A form post without a Referer: a refused form answers its own status."""
    return office.client.post(f"/admin{path}", data={"csrf_token": office._token(), **data})


def _events(app, action: str) -> list[str]:
    from orchestrator.extensions import db
    from orchestrator.models import AuditEvent

    with app.app_context():
        notes = list(db.session.scalars(select(AuditEvent.note).where(AuditEvent.action == action)
                                        .order_by(AuditEvent.id)).all())
        db.session.remove()
        return notes


def test_declaring_a_calendar_day_audits_and_refuses_alike_on_both_surfaces(app, api):
    def by_api(who, scope, day):
        return api.post("/calendar/days", who, json={"date": day, "kind": "off", "scope": scope, "note": " ghi chú "})

    def by_office(who, scope, day):
        return _form_post(_office(app, who), "/calendar", {"scope": scope, "day": day, "kind": "off",
                                                           "note": " ghi chú "})

    assert by_api("admin.01", "01", "2031-02-03").status_code == 201
    assert by_office("admin.01", "01", "2031-02-04").status_code == 303
    assert _events(app, "calendar.declare") == ["01 2031-02-03 off: ghi chú", "01 2031-02-04 off: ghi chú"]
    days = api.get("/calendar/days?scope=01&year=2031", "admin.01").get_json()["items"]
    assert [(d["date"], d["note"]) for d in days] == [("2031-02-03", "ghi chú"), ("2031-02-04", "ghi chú")]
    # another province's administrator: 403; an unknown province, even for VN's: 400; nothing stored
    for declare in (by_api, by_office):
        assert declare("admin.19", "01", "2031-02-05").status_code == 403
        assert declare("admin.VN", "99", "2031-02-05").status_code == 400
        assert declare("designer.01", "01", "2031-02-05").status_code == 403
    # not an administrator: 403 whatever the scope names (the API used to answer 400 for an unknown one)
    assert by_api("reception.00070", "99", "2031-02-05").status_code == 403
    assert len(_events(app, "calendar.declare")) == 2


@pytest.fixture
def inactive_user(app):
    from orchestrator.extensions import db
    from orchestrator.services.auth import create_user

    with app.app_context():
        user = create_user(db.session, "locked.00070", PASSWORD, [("specialist", "00070")])
        user.active = False
        db.session.commit()
        db.session.remove()
    return "locked.00070"


def test_login_checks_the_password_alike_on_both_surfaces(app, client, inactive_user, monkeypatch):
    """One service function (`auth.check_password`): a hash is checked for every attempt, a dummy one
    for an unknown username, so neither surface reveals by its timing which usernames exist."""
    from orchestrator.services import auth

    checked = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))

    def by_api(username, password):
        return client.post("/api/v1/auth/token", json={"username": username, "password": password}).status_code

    def by_office(username, password):
        office = _office(app)
        return office.client.post("/admin/login", data={"csrf_token": office._token(), "username": username,
                                                        "password": password}).status_code

    for login, ok, refused in ((by_api, 200, 401), (by_office, 302, 401)):
        cases = [("reception.00070", PASSWORD, ok), ("reception.00070", "wrong-password", refused),
                 ("nobody.at.all", PASSWORD, refused), (inactive_user, PASSWORD, refused)]
        for username, password, status in cases:
            checked.clear()
            assert login(username, password) == status, (login.__name__, username)
            assert len(checked) == 1, (login.__name__, username)  # the same work, known user or not
            if username == "nobody.at.all":
                # a dummy of the configured method: it costs what a real user's hash does
                assert checked == [auth._DUMMY_HASHES[app.config["PASSWORD_HASH_METHOD"]]], login.__name__


def test_login_is_rate_limited_alike_on_both_surfaces(app, client):
    """The back office's login takes the token route's limit (RATELIMIT_TOKEN) per address."""
    app.config["RATELIMIT_TOKEN"] = "2 per minute"
    for _ in range(2):
        assert client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}).status_code == 429
    office = _office(app)
    for _ in range(2):
        assert office.client.post("/admin/login", data={"csrf_token": office._token(), "username": "x",
                                                        "password": "y"}).status_code == 401
    r = office.client.post("/admin/login", data={"csrf_token": office._token(), "username": "x", "password": "y"})
    assert r.status_code == 429 and r.headers.get("Retry-After")
    assert office.client.get("/admin/login").status_code == 200  # the page itself is not limited
