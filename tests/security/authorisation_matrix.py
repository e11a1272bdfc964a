"""The authorisation matrix as data: actors x actions -> the expected outcome.

Every cell is one request by one actor, made from a state where the action succeeds for an
actor who is allowed it, so a refusal can only mean "not allowed" (403), "not visible" (404),
"not logged in" (401 on the API, a redirect to the login page in the back office), or, for a
list, "allowed but the resource is not in the answer" (hidden).

The expected outcome of a cell is `action.rule(actor)`: rules read the actor's roles and units
(or an integrator key's provinces and permissions), so most cells are never written down one by
one. How to extend the matrix:

- an action: add an `Action` to API_ACTIONS or ADMIN_ACTIONS (surface, method, path template,
  rule, the state it starts from, body builder, whether an allowed request consumes the state,
  and for a list how to tell the resource is in it); a new state is a function decorated with
  `@state` below, named by the action's `state`;
- an actor: add a `Who` to ACTORS (its units must be in PROVINCE_OF); every rule places it;
- an exception the rules do not express: `exceptions={actor id: outcome}` on the action;
- a cell where today's answer is wrong: `findings={actor id: "what is wrong"}`; the cell expects
  the rule's (correct) outcome and is a strict xfail until the code is fixed, then the entry goes.

The rules restate the access policy of docs/api.md, docs/architecture.md and the services'
docstrings; a cell fails when the code and that policy disagree.
"""
from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import CalendarDay, Dossier, Job, User, WorkItem
from orchestrator.models.jobs import DEAD
from orchestrator.models.users import Substitute
from orchestrator.services import connectors, designer
from orchestrator.services.auth import actor_for_user, create_api_key, create_user
from orchestrator.services.calendar import TZ

from ..test_dmn import diagram as dmn_diagram
from ..test_dmn import rule as dmn_rule
from ..test_dmn import table as dmn_table
from ..test_dossiers_api import APPLICANT, BIRTH

ROOT = Path(__file__).resolve().parents[2]
BIRTH_BPMN = (ROOT / "bpmn" / "national" / "1.001193.bpmn").read_bytes()

# -- outcomes ----------------------------------------------------------------------------------

ALLOWED = "allowed"          # 2xx, or a 3xx that is not the login page (a back-office form done)
HIDDEN = "hidden"            # a list answered, without the state's resource in it
LOGIN = "login"              # back office: redirected to the login page
UNAUTHENTICATED = 401
FORBIDDEN = 403
NOT_FOUND = 404
DENIED = frozenset({HIDDEN, LOGIN, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND})

# -- places ------------------------------------------------------------------------------------

HOME_PROVINCE = "01"         # Hà Nội
HOME_COMMUNE = "00070"       # Phường Hoàn Kiếm: every dossier of the matrix is received and handled here
OTHER_COMMUNE = "00454"      # Xã Đông Anh, same province
FAR_COMMUNE = "05443"        # Phường Phan Đình Phùng, Thái Nguyên (19)
MANAGED_UNIT = "00008"       # Phường Ngọc Hà (01): the unit whose validity administrators edit
PROVINCE_OF = {"VN": "VN", "01": "01", "19": "19", HOME_COMMUNE: "01", OTHER_COMMUNE: "01", FAR_COMMUNE: "19"}
OFFICER_ROLES = ("reception", "specialist", "leader")
NATIONAL = "national"

# -- actors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """An actor of the matrix: a demo user (password demo1234), an integrator key, or nobody."""

    id: str
    username: str | None = None
    roles: tuple[tuple[str, str], ...] = ()      # (role, unit code)
    key_name: str | None = None                  # the integrator a key is issued to
    key_provinces: tuple[str, ...] = ()
    key_permissions: tuple[str, ...] = ()

    @property
    def is_key(self) -> bool:
        return self.key_name is not None

    @property
    def anonymous(self) -> bool:
        return self.username is None and not self.is_key

    def holds(self, role: str, unit: str) -> bool:
        return (role, unit) in self.roles

    def scope(self, *roles: str) -> set[str]:
        """Provinces (or VN) where the actor holds one of these roles."""
        return {PROVINCE_OF[u] for r, u in self.roles if r in roles}

    def covers(self, province: str, *roles: str) -> bool:
        scope = self.scope(*roles)
        return "VN" in scope or province in scope

    def key_covers(self, province: str) -> bool:
        return "VN" in self.key_provinces or province in self.key_provinces

    def may(self, permission: str) -> bool:
        return permission in self.key_permissions


def _user(label: str, role: str, unit: str) -> Who:
    return Who(label, username=f"{role}.{unit}", roles=((role, unit),))


PORTAL = ("dossiers:create", "dossiers:read", "events:send")
ACTORS: list[Who] = [
    _user("reception.00070", "reception", HOME_COMMUNE),
    _user("specialist.00070", "specialist", HOME_COMMUNE),
    _user("leader.00070", "leader", HOME_COMMUNE),
    _user("specialist.00454@other-commune", "specialist", OTHER_COMMUNE),
    _user("specialist.05443@other-province", "specialist", FAR_COMMUNE),
    _user("supervisor.01", "supervisor", "01"),
    _user("supervisor.19@other-province", "supervisor", "19"),
    _user("supervisor.VN@national", "supervisor", "VN"),
    _user("designer.01", "designer", "01"),
    _user("designer.19@other-province", "designer", "19"),
    _user("designer.VN@national", "designer", "VN"),
    _user("admin.01", "admin", "01"),
    _user("admin.19@other-province", "admin", "19"),
    _user("admin.VN@national", "admin", "VN"),
    Who("key.01", key_name="matrix-portal-01", key_provinces=("01",), key_permissions=PORTAL),
    Who("key.19@other-province", key_name="matrix-portal-19", key_provinces=("19",), key_permissions=PORTAL),
    Who("key.01-procedures", key_name="matrix-designer-01", key_provinces=("01",),
        key_permissions=("procedures:write",)),
    Who("anonymous"),
]

# -- rules -------------------------------------------------------------------------------------
# A rule answers for an authenticated actor on the action's surface; `expected` adds the
# anonymous visitor and integrator keys in the back office (which never opens with a key).

Rule = Callable[[Who], object]


def anyone(w: Who) -> object:
    return ALLOWED


def sees_dossier(w: Who) -> bool:
    """The dossiers of the matrix (commune 00070, province 01, every step at 00070): officers of
    a unit taking part, supervisors and administrators of their area, keys of their provinces."""
    if w.is_key:
        return (w.may("dossiers:read") or w.may("dossiers:create")) and w.key_covers(HOME_PROVINCE)
    if any(r in ("supervisor", "admin") and u in ("VN", HOME_PROVINCE, HOME_COMMUNE) for r, u in w.roles):
        return True
    return any(w.holds(r, HOME_COMMUNE) for r in OFFICER_ROLES)


def officer_here(w: Who) -> bool:
    return not w.is_key and any(w.holds(r, HOME_COMMUNE) for r in OFFICER_ROLES)


def dossier_reader(w: Who) -> object:
    return ALLOWED if sees_dossier(w) else NOT_FOUND


def dossier_lister(w: Who) -> object:
    return ALLOWED if sees_dossier(w) else HIDDEN


def dossier_officer(w: Who) -> object:
    """Actions on the dossier as a whole: an officer of a unit taking part (403), if seen (404)."""
    if not sees_dossier(w):
        return NOT_FOUND
    return ALLOWED if officer_here(w) else FORBIDDEN


def step_of(role: str) -> Rule:
    """Work on a step routed to (role, 00070): claim, complete, and the actions that complete it."""
    def rule(w: Who) -> object:
        if not sees_dossier(w):
            return NOT_FOUND
        return ALLOWED if w.holds(role, HOME_COMMUNE) else FORBIDDEN
    return rule


def unit_leader_or(role: str) -> Rule:
    """The step's officer or a leader of its unit (unclaim: the leader takes it back)."""
    def rule(w: Who) -> object:
        if not sees_dossier(w):
            return NOT_FOUND
        return ALLOWED if w.holds(role, HOME_COMMUNE) or w.holds("leader", HOME_COMMUNE) else FORBIDDEN
    return rule


def unit_leader(w: Who) -> object:
    if not sees_dossier(w):
        return NOT_FOUND
    return ALLOWED if w.holds("leader", HOME_COMMUNE) else FORBIDDEN


def event_sender(w: Who) -> object:
    """Keys with events:send for the dossier's province (another province: 404); officers taking part."""
    if w.is_key:
        if not w.key_covers(HOME_PROVINCE):
            return NOT_FOUND
        return ALLOWED if w.may("events:send") else FORBIDDEN
    return dossier_officer(w)


PORTAL_01 = "matrix-portal-01"  # key.01's integrator: the `own_online` dossier is its own
BUILDER = "matrix-builder"      # the integrator of the states' online dossiers (`reception`)


def for_the_citizen(rule: Rule, creator: str | None) -> Rule:
    """Withdraw, supplement, attachments (issue 21, finding 10): a key allowed by `rule` acts only on
    the dossiers its integrator submitted (`creator`; None: received at the desk), else 403
    `not_your_dossier`; users as `rule` says."""
    def citizen_rule(w: Who) -> object:
        outcome = rule(w)
        if w.is_key and outcome == ALLOWED and w.key_name != creator:
            return FORBIDDEN
        return outcome
    return citizen_rule


def dossier_starter(w: Who) -> object:
    """Keys with dossiers:create for the province; reception officers for their own unit."""
    if w.is_key:
        return ALLOWED if w.may("dossiers:create") and w.key_covers(HOME_PROVINCE) else FORBIDDEN
    return ALLOWED if w.holds("reception", HOME_COMMUNE) else FORBIDDEN


def attachment_uploader(w: Who) -> object:
    """Applicant documents: keys with dossiers:create for the province, or officers taking part."""
    if w.is_key:
        creator = w.may("dossiers:create") and w.key_covers(HOME_PROVINCE)
        if not (creator or sees_dossier(w)):
            return NOT_FOUND
        return ALLOWED if creator else FORBIDDEN
    return dossier_officer(w)


def procedure_writer(w: Who) -> object:
    """API procedure writes on province 01: its designers, national ones, keys with procedures:write.
    A refusal is 403 (the write is checked against the version's scope; reading a draft is
    `version_insider`'s, 404 for who may not see it)."""
    if w.is_key:
        return ALLOWED if w.may("procedures:write") and w.key_covers(HOME_PROVINCE) else FORBIDDEN
    return ALLOWED if w.covers(HOME_PROVINCE, "designer") else FORBIDDEN


def statistics_reader(w: Who) -> object:
    return ALLOWED if not w.is_key and w.covers(HOME_PROVINCE, "supervisor", "admin") else FORBIDDEN


def book_reader(w: Who) -> object:
    """The tracking book of commune 00070: its officers (any role), supervisors and administrators
    of province 01 (or VN)."""
    if w.is_key:
        return FORBIDDEN
    return ALLOWED if officer_here(w) or w.covers(HOME_PROVINCE, "supervisor", "admin") else FORBIDDEN


def admin_of_province(w: Who) -> object:
    """Something scoped to province 01 by the request itself (a key for 01, a day off in 01)."""
    return ALLOWED if not w.is_key and w.covers(HOME_PROVINCE, "admin") else FORBIDDEN


def national_admin(w: Who) -> object:
    """Something the request scopes to VN (a national connector): national administrators only."""
    return ALLOWED if not w.is_key and w.covers("VN", "admin") else FORBIDDEN


def admin_of_resource(w: Who) -> object:
    """An existing resource of province 01: other provinces' administrators do not see it."""
    if w.is_key or not w.scope("admin"):
        return FORBIDDEN
    return ALLOWED if w.covers(HOME_PROVINCE, "admin") else NOT_FOUND


def delivery_log_reader(w: Who) -> object:
    """A dossier's delivery log (issue 24): administrators of province 01 (or VN); who else sees
    the dossier gets 403, who does not, 404."""
    if not w.is_key and w.covers(HOME_PROVINCE, "admin"):
        return ALLOWED
    return FORBIDDEN if sees_dossier(w) else NOT_FOUND


def admin_lister(w: Who) -> object:
    if w.is_key or not w.scope("admin"):
        return FORBIDDEN
    return ALLOWED if w.covers(HOME_PROVINCE, "admin") else HIDDEN


def integrator_only(w: Who) -> object:
    return ALLOWED if w.is_key else FORBIDDEN


def subscription_owner(w: Who) -> object:
    """Webhook subscriptions belong to one integrator (key.01's); others do not see them."""
    if not w.is_key:
        return FORBIDDEN
    return ALLOWED if w.id == "key.01" else NOT_FOUND


def subscription_lister(w: Who) -> object:
    if not w.is_key:
        return FORBIDDEN
    return ALLOWED if w.id == "key.01" else HIDDEN


# Back-office gates: the view's role check comes first (403 whatever the resource), then the rule.

def _gate(*roles: str) -> Callable[[Rule], Rule]:
    def wrap(inner: Rule) -> Rule:
        def rule(w: Who) -> object:
            return inner(w) if w.scope(*roles) else FORBIDDEN
        return rule
    return wrap


def feedback_answerer(w: Who) -> object:
    """Citizens' feedback of province 01: its supervisors and administrators (VN too); for the
    others with the role elsewhere it does not exist (404)."""
    return ALLOWED if not w.is_key and w.covers(HOME_PROVINCE, "supervisor", "admin") else NOT_FOUND


officer_page = _gate("reception", "specialist", "leader", "supervisor")
designer_page = _gate("designer")
admin_page = _gate("admin")
statistics_page = _gate("supervisor", "admin")
book_page = _gate("reception", "specialist", "leader", "supervisor", "admin")
audit_page = _gate("admin", "designer")
desk_page = _gate("reception")  # the desk's intake (issue 19): reception officers, `access.desk_units`


def designer_views(scope: str) -> Rule:
    """A designer sees its province's versions and the national templates; VN sees everything."""
    def rule(w: Who) -> object:
        s = w.scope("designer")
        return ALLOWED if "VN" in s or scope in (NATIONAL, *s) else NOT_FOUND
    return rule


def designer_edits(scope: str) -> Rule:
    """Edit a version: unseen 404, seen but not its province's (a national template) 403."""
    def rule(w: Who) -> object:
        if designer_views(scope)(w) != ALLOWED:
            return NOT_FOUND
        s = w.scope("designer")
        return ALLOWED if "VN" in s or (scope != NATIONAL and scope in s) else FORBIDDEN
    return rule


def designer_of(province: str) -> Rule:
    """A new draft in a province (upload, derive): 403 outside one's provinces."""
    return lambda w: ALLOWED if w.covers(province, "designer") else FORBIDDEN


def version_insider(scope: str, unseen: object = NOT_FOUND) -> Rule:
    """A draft of `scope` on the API (issue 21): its designers and administrators (their provinces
    and the national templates; VN: all), keys with procedures:write for it; others do not see
    it (404; in a list: `unseen`, hidden)."""
    def rule(w: Who) -> object:
        if w.is_key:
            covers = "VN" in w.key_provinces if scope == NATIONAL else w.key_covers(scope)
            return ALLOWED if w.may("procedures:write") and covers else unseen
        s = w.scope("designer", "admin")
        return ALLOWED if s and ("VN" in s or scope in (NATIONAL, *s)) else unseen
    return rule


def return_step_holder_or_leader(w: Who) -> object:
    """Return-to-step from a step reception.00070 holds (state `decided_held`): the holder, or a
    leader of the step's unit; other officers taking part 403 (issue 21, finding 13)."""
    if not sees_dossier(w):
        return NOT_FOUND
    return ALLOWED if w.id == "reception.00070" or w.holds("leader", HOME_COMMUNE) else FORBIDDEN


def token_manager(w: Who) -> object:
    """A user's tokens (issue 21, finding 9): administrators who manage the user (every unit of
    theirs in the administrator's province, or VN); other users do not see them (404); keys have
    no tokens (403)."""
    if w.is_key:
        return FORBIDDEN
    return ALLOWED if w.covers(HOME_PROVINCE, "admin") else NOT_FOUND


def token_owner(w: Who) -> object:
    """One's own tokens on the account page: specialist.00070's token is theirs only (others 404)."""
    return ALLOWED if w.username == "specialist.00070" else NOT_FOUND


def owner_or_token_manager(w: Who) -> object:
    """specialist.00070's token on the API: theirs, and their administrators' (01, VN)."""
    return ALLOWED if w.username == "specialist.00070" else token_manager(w)


def user_only(w: Who) -> object:
    """One's own tokens: any user; a key has none (403)."""
    return FORBIDDEN if w.is_key else ALLOWED


def leader_here(w: Who) -> object:
    """Bulk reassignment and absences of 00070: its leaders; anyone else 403 (each step or
    officer is then checked as for one)."""
    return ALLOWED if w.holds("leader", HOME_COMMUNE) else FORBIDDEN


leader_page = _gate("leader")


def inbox_lister(role: str) -> Rule:
    """The 'available' inbox lists an unclaimed step to the officers of its role and unit only."""
    return lambda w: ALLOWED if w.holds(role, HOME_COMMUNE) else HIDDEN


# -- states ------------------------------------------------------------------------------------
# A state builder gets the matrix environment (conftest.MatrixEnv: `api`, `app`, `builder_key`,
# `key_of(actor id)`) and returns the values the actions' paths and bodies are made of. A state
# is built once and shared until a cell consumes it (an allowed mutation), then built again.

STATES: dict[str, Callable] = {}
_serial = itertools.count(1)


def state(fn: Callable) -> Callable:
    STATES[fn.__name__] = fn
    return fn


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    return response.get_json()


def _task(body: dict, step_id: str) -> str:
    return next(t["id"] for t in body["current_tasks"] if t["step_id"] == step_id)


@state
def none(env) -> dict:
    return {}


@state
def processing(env) -> dict:
    """A birth registration received in person at 00070 (status 4), the civil-status step open,
    due in two weeks (the procedure is same-day; an apology needs a working day's notice)."""
    body = _ok(env.api.post("/dossiers", "reception.00070", json={
        "procedure_code": "1.001193", "province_code": HOME_PROVINCE, "commune_code": HOME_COMMUNE,
        "channel": 1, "applicant": APPLICANT, "data": BIRTH}), 201)
    due = datetime.combine((datetime.now(TZ) + timedelta(days=14)).date(), time(17, 0), tzinfo=TZ)
    with env.app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == body["code"]))
        d.due_at = d.legal_due_at = due
        db.session.commit()
    return {"dossier": body["code"], "task": _task(body, "Task_Record"),
            "new_due": (due + timedelta(days=7)).date().isoformat()}


@state
def inbox(env) -> dict:
    """A processing dossier whose open step is overdue: it comes first in every inbox."""
    s = processing(env)
    with env.app.app_context():
        db.session.get(WorkItem, s["task"]).due_at = datetime.now(TZ) - timedelta(days=3)
        db.session.commit()
    return s


@state
def claimed(env) -> dict:
    s = processing(env)
    _ok(env.api.post(f"/tasks/{s['task']}/claim", "specialist.00070"))
    return s


@state
def notified(env) -> dict:
    """A leader gave specialist.00070 the step of a processing dossier: the specialist's bell has
    one notification (the owner's alone: anyone else's request for it is a 404)."""
    from orchestrator.models import Notification

    s = processing(env)
    _ok(env.api.post(f"/tasks/{s['task']}/assign", "leader.00070", json={"username": "specialist.00070"}))
    with env.app.app_context():
        note = db.session.scalars(select(Notification).join(User, User.id == Notification.user_id).where(
            User.username == "specialist.00070").order_by(Notification.id.desc())).first()
        return {**s, "notification": note.id}


def notification_owner(w: Who) -> object:
    return ALLOWED if w.username == "specialist.00070" else NOT_FOUND


def notification_lister(w: Who) -> object:
    return ALLOWED if w.username == "specialist.00070" else HIDDEN


@state
def held_by_colleague(env) -> dict:
    """The processing step held by a fresh specialist of 00070: every other officer of its role
    may ask to take it over (issue 19)."""
    s = processing(env)
    with env.app.app_context():
        holder = create_user(db.session, f"matrix.holder.{next(_serial)}", "demo1234", [("specialist", HOME_COMMUNE)])
        db.session.flush()
        db.session.get(WorkItem, s["task"]).assignee_id = holder.id
        db.session.commit()
    return s


@state
def reception(env) -> dict:
    """A dossier submitted online (status 1), its reception step open at 00070."""
    body = _ok(env.api.post("/dossiers", env.builder_key, json={
        "procedure_code": "1.001193", "province_code": HOME_PROVINCE, "commune_code": HOME_COMMUNE,
        "channel": 2, "applicant": APPLICANT, "data": BIRTH}), 201)
    return {"dossier": body["code"], "task": _task(body, "Task_Reception")}


@state
def own_online(env) -> dict:
    """A dossier submitted online by key.01 (status 1): its integrator acts for the citizen on it."""
    body = _ok(env.api.post("/dossiers", env.key_of("key.01"), json={
        "procedure_code": "1.001193", "province_code": HOME_PROVINCE, "commune_code": HOME_COMMUNE,
        "channel": 2, "applicant": APPLICANT, "data": BIRTH}), 201)
    return {"dossier": body["code"], "task": _task(body, "Task_Reception")}


@state
def decided(env) -> dict:
    """Signed (status 9): the return step is open at 00070's reception desk, claimed by nobody."""
    s = processing(env)
    body = _ok(env.api.post(f"/tasks/{s['task']}/complete", "specialist.00070", json={"data": RECORD_DATA}))
    body = _ok(env.api.post(f"/tasks/{_task(body, 'Task_Sign')}/complete", "leader.00070",
                            json={"data": {"decision": "approve"}}))
    assert body["status"] == 9, body
    return {**s, "task": _task(body, "Task_Return")}


@state
def decided_held(env) -> dict:
    """Signed (status 9), the return step claimed by reception.00070: its holder."""
    s = decided(env)
    _ok(env.api.post(f"/tasks/{s['task']}/claim", "reception.00070"))
    return s


@state
def decided_held_by_colleague(env) -> dict:
    """Signed (status 9), the return step claimed by another receptionist of 00070: reception.00070
    has the step's role but does not hold it."""
    s = decided(env)
    with env.app.app_context():
        name = f"matrix.reception.{next(_serial)}"
        create_user(db.session, name, "demo1234", [("reception", HOME_COMMUNE)])
        db.session.commit()
    _ok(env.api.post(f"/tasks/{s['task']}/claim", name))
    return s


@state
def attachment(env) -> dict:
    s = processing(env)
    body = _ok(env.api.post(f"/dossiers/{s['dossier']}/attachments", "reception.00070",
                            data={"kind": "applicant", "file": (io.BytesIO(PDF), "to-khai.pdf")},
                            content_type="multipart/form-data"), 201)
    return {**s, "attachment": body["id"]}


@state
def incident(env) -> dict:
    """A processing dossier flagged in incident (what a failed script leaves)."""
    s = processing(env)
    with env.app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == s["dossier"]))
        d.incident, d.incident_message = True, "matrix: a script failed"
        db.session.commit()
    return s


@state
def dead_job(env) -> dict:
    """A background job of a province-01 dossier that failed for good."""
    s = processing(env)
    with env.app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == s["dossier"]))
        job = Job(kind="webhook", dossier_id=d.id, payload={}, state=DEAD, attempts=8, last_error="matrix")
        db.session.add(job)
        db.session.commit()
        return {**s, "job": job.id}


def _unique_birth() -> bytes:
    """The birth diagram with a mark of its own: an identical upload is refused as a duplicate
    (issue 22), and every state here wants a new draft."""
    return BIRTH_BPMN.replace(b"<bpmn:definitions ", f'<bpmn:definitions exporterVersion="m{next(_serial)}" '.encode(), 1)


def _upload(env, code: str, scope: str, who: str) -> dict:
    body = _ok(env.api.post("/procedures", who, data={
        "code": code, "scope": scope, "name": f"Thủ tục {code}", "deadline_kind": "same-day",
        "file": (io.BytesIO(_unique_birth()), "birth.bpmn")}, content_type="multipart/form-data"), 201)
    return {"code": body["code"], "version": body["version"]}


@state
def draft(env) -> dict:
    """Hà Nội's draft variant of birth registration (never published: edits do not reach dossiers)."""
    return _upload(env, "1.001193", HOME_PROVINCE, "designer.01")


@state
def draft_in_modeler(env) -> dict:
    """A draft as the modeler opened it: a save names the revision it started from (issue 22)."""
    from orchestrator.models import ProcedureVersion
    from orchestrator.services import modeler
    s = draft(env)
    with env.app.app_context():
        version = db.session.scalar(select(ProcedureVersion).where(
            ProcedureVersion.procedure_code == s["code"], ProcedureVersion.version == s["version"]))
        return {**s, "revision": modeler.revision(version)}


@state
def draft_with_empty_lane(env) -> dict:
    """A draft with a lane nothing is drawn in (only an empty lane may be deleted)."""
    s = draft(env)
    with env.app.app_context():
        user = db.session.scalar(select(User).where(User.username == "designer.01"))
        version = designer.add_lane(db.session, actor_for_user(db.session, user), s["code"], s["version"], "Làn trống")
        db.session.commit()
        return {**s, "lane": next(lane["id"] for lane in version.model["lanes"] if lane["name"] == "Làn trống")}


@state
def publishable(env) -> dict:
    """A draft of a procedure only the matrix uses, ready to publish in Hà Nội."""
    return _upload(env, "9.999901", HOME_PROVINCE, "designer.01")


@state
def province_variant(env) -> dict:
    """A procedure only the matrix uses, with a national template and Hà Nội's variant both in
    force (issue 22: a province withdraws its variant)."""
    code = f"9.998{next(_serial):03d}"
    national_ = _upload(env, code, NATIONAL, "designer.VN")
    _ok(env.api.post(f"/procedures/{code}/versions/{national_['version']}/publish", "designer.VN"))
    variant = _upload(env, code, HOME_PROVINCE, "designer.01")
    _ok(env.api.post(f"/procedures/{code}/versions/{variant['version']}/publish", "designer.01"))
    return {"code": code, "version": variant["version"], "province": HOME_PROVINCE}


@state
def national(env) -> dict:
    """The national birth-registration template in force (seeded, version 1)."""
    return {"code": "1.001193", "version": 1}


@state
def declared_day(env) -> dict:
    """A day off declared for province 01 (far ahead: no due date of the matrix moves)."""
    with env.app.app_context():
        day = CalendarDay(day=date(2032, 1, 5) + timedelta(days=next(_serial)), scope=HOME_PROVINCE, kind="off",
                          note="ma trận")
        db.session.add(day)
        db.session.commit()
        return {"day": day.id, "year": day.day.year}


@state
def reported_day(env) -> dict:
    """A day off declared for province 01 from a report, not confirmed yet (issue 18)."""
    with env.app.app_context():
        day = CalendarDay(day=date(2033, 1, 5) + timedelta(days=next(_serial)), scope=HOME_PROVINCE, kind="off",
                          note="ma trận, báo cáo", confirmed=False)
        db.session.add(day)
        db.session.commit()
        return {"day": day.id, "year": day.day.year}


@state
def victim_key(env) -> dict:
    """An integrator of province 01 (not an actor: rotating or revoking it locks nobody out)."""
    name = f"matrix-victim-{next(_serial)}"
    with env.app.app_context():
        key, _secret = create_api_key(db.session, name, [HOME_PROVINCE], ["dossiers:read"])
        db.session.commit()
        return {"key": key.id, "integrator": key.integrator_id, "integrator_name": name}


@state
def subscription(env) -> dict:
    url = f"https://hooks.example.test/matrix-{next(_serial)}"
    body = _ok(env.api.post("/webhooks", env.key_of("key.01"), json={"url": url, "event_types": ["dossier.created"]}),
               201)
    return {"subscription": body["id"], "url": url}


@state
def delivery(env) -> dict:
    """A webhook delivery to key.01's subscription (what the integrator's log shows and redelivers)."""
    from orchestrator.models import WebhookDelivery

    s = {**subscription(env), **processing(env)}
    delivery_id = f"00000000-0000-4000-8000-{next(_serial):012d}"
    with env.app.app_context():
        db.session.add(WebhookDelivery(id=delivery_id, subscription_id=s["subscription"], event_type="dossier.created",
                                       dossier_code=s["dossier"], sequence=1, payload={"delivery_id": delivery_id}))
        db.session.commit()
    return {**s, "delivery": delivery_id}


@state
def victim_user(env) -> dict:
    """A user of 00070 with two (role, unit) pairs, so one may be removed."""
    name = f"matrix.victim.{next(_serial)}"
    with env.app.app_context():
        user = create_user(db.session, name, "demo1234", [("specialist", HOME_COMMUNE), ("reception", HOME_COMMUNE)])
        db.session.commit()
        pair = next(a.id for a in user.assignments if a.role == "reception")
        return {"user": user.id, "username": name, "pair": pair}


def _token_for(username: str) -> int:
    """An API token of this user, as POST /auth/token makes it (the secret itself is not needed)."""
    import secrets
    from datetime import timezone

    from orchestrator.models import UserToken

    user = db.session.scalar(select(User).where(User.username == username))
    token = UserToken(user_id=user.id, token_hash=secrets.token_hex(32), generation=user.credential_generation,
                      expires_at=datetime.now(timezone.utc) + timedelta(hours=12))
    db.session.add(token)
    db.session.commit()
    return token.id


@state
def victim_token(env) -> dict:
    """A user of 00070 holding an API token (issue 21: tokens listed and revoked)."""
    s = victim_user(env)
    with env.app.app_context():
        return {**s, "token": _token_for(s["username"])}


@state
def own_token(env) -> dict:
    """A second API token of specialist.00070 (the one the matrix calls with stays untouched)."""
    with env.app.app_context():
        return {"token": _token_for("specialist.00070")}


@state
def absence_pair(env) -> dict:
    """Two fresh specialists of 00070: one to be absent, one to stand in (issue 19)."""
    n = next(_serial)
    with env.app.app_context():
        for who in ("away", "stand"):
            create_user(db.session, f"matrix.{who}.{n}", "demo1234", [("specialist", HOME_COMMUNE)])
        db.session.commit()
    return {"officer": f"matrix.away.{n}", "substitute": f"matrix.stand.{n}",
            "today": datetime.now(TZ).date().isoformat()}


@state
def absence_set(env) -> dict:
    """A substitute standing in for an officer of 00070 from today."""
    s = absence_pair(env)
    with env.app.app_context():
        ids = dict(db.session.execute(select(User.username, User.id).where(
            User.username.in_([s["officer"], s["substitute"]]))).all())
        row = Substitute(user_id=ids[s["officer"]], substitute_id=ids[s["substitute"]], set_by="matrix",
                         starts_on=date.fromisoformat(s["today"]), ends_on=date.fromisoformat(s["today"]))
        db.session.add(row)
        db.session.commit()
        return {**s, "substitute_row": row.id}


DECISION = "uu_tien"
DECISION_RULE = {"id_1": "R_adult", "in_1_1": "[18..60[", "in_1_2": "-", "out_1_1": '"adult"', "out_1_2": "100000",
                 "note_1": "Người lớn"}


@state
def draft_with_decision(env) -> dict:
    """Hà Nội's draft of a procedure whose business rule task calls a DMN table of one rule (the
    grid the back office edits is DECISION_RULE: saving it again changes nothing)."""
    table = dmn_table(dmn_rule("R_adult", "[18..60[", "-", '"adult"', "100000", "Người lớn"), decision=DECISION)
    body = _ok(env.api.post("/procedures", "designer.01", data={
        "code": "9.999902", "scope": HOME_PROVINCE, "name": "Thủ tục 9.999902", "deadline_days": "5",
        "deadline_kind": "working", "file": (io.BytesIO(dmn_diagram(DECISION)), "9.999902.bpmn"),
        "dmn": [(io.BytesIO(table), f"{DECISION}.dmn")]}, content_type="multipart/form-data"), 201)
    return {"code": body["code"], "version": body["version"], "decision": DECISION}


def _connector_json(s: dict | None = None) -> dict:
    return {"name": f"matrix-connector-{next(_serial)}", "scope": HOME_PROVINCE, "method": "GET",
            "url_template": "https://registry.example.test/citizens/{citizen_id}", "inputs": ["citizen_id"],
            "outputs": {"full_name": "/name"}}


def _connector_form(s: dict | None = None) -> dict:
    return {**_connector_json(), "inputs": "citizen_id", "outputs": "full_name = /name", "headers": "",
            "secret_headers": "", "timeout_seconds": "10", "max_attempts": "5", "active": "1"}


@state
def connector(env) -> dict:
    """A connector of province 01 (what its service tasks call), registered by its administrator."""
    with env.app.app_context():
        user = db.session.scalar(select(User).where(User.username == "admin.01"))
        definition = connectors.Definition(**_connector_json())
        row = connectors.create(db.session, actor_for_user(db.session, user), definition)
        db.session.commit()
        return {"connector": row.id, "connector_name": row.name}


# -- bodies ------------------------------------------------------------------------------------

PDF = b"%PDF-1.4 matrix"
RECORD_DATA = {"check_result": "valid", "days_since_birth": 1, "fee_exempt_group": False}
RECORD_FORM = {"check_result": "valid", "days_since_birth": "1"}
DESK_FORM = {"desk-unit": HOME_COMMUNE, "desk-procedure": "1.001193", "applicant-full_name": APPLICANT["full_name"],
             "applicant-id_number": APPLICANT["id_number"], "applicant-address": "12 Hàng Bạc, Hoàn Kiếm",
             "reception_result": "accept", **BIRTH}
REASON = "Kiểm tra phân quyền"


def _json(payload) -> Callable[[dict], dict]:
    return lambda s: {"json": payload(s) if callable(payload) else payload}


def _multipart(fields: Callable[[dict], dict]) -> Callable[[dict], dict]:
    return lambda s: {"data": fields(s), "content_type": "multipart/form-data"}


def _form(fields) -> Callable[[dict], dict]:
    return lambda s: {"data": fields(s) if callable(fields) else dict(fields)}


def _bpmn_upload(s: dict) -> dict:
    return {"code": "1.001193", "scope": HOME_PROVINCE, "name": "Đăng ký khai sinh", "deadline_kind": "same-day",
            "file": (io.BytesIO(_unique_birth()), "birth.bpmn")}


def _new_user(s: dict) -> dict:
    return {"username": f"matrix.new.{next(_serial)}", "password": "demo12345", "full_name": "Ma trận",
            "role": "specialist", "unit_code": HOME_COMMUNE}


# -- lists -------------------------------------------------------------------------------------

def _json_items(key: str, value: str):
    """A JSON list answer shows the state's resource."""
    return lambda s, r: any(item.get(key) == s[value] for item in (r.get_json() or {}).get("items", []))


def _page_has(template: str):
    """A back-office page links the state's resource (an exact href, not a search box's echo)."""
    return lambda s, r: template.format(**s) in r.get_data(as_text=True)


def _redirects_to(template: str):
    """A back-office answer that sends the user straight to the state's resource."""
    return lambda s, r: urlparse(r.headers.get("Location", "")).path == template.format(**s)


# -- actions -----------------------------------------------------------------------------------



@state
def returned(env) -> dict:
    """A processing dossier marked returned (status 10): the citizen may rate it once (issue 24)."""
    from orchestrator.models.types import utcnow

    s = processing(env)
    with env.app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == s["dossier"]))
        d.status, d.finished_at = 10, utcnow()
        db.session.commit()
    return s


@state
def feedback(env) -> dict:
    """A citizen's unanswered petition about a dossier of 00070 with an email to answer to (issue 24)."""
    from orchestrator.models import Feedback

    s = processing(env)
    with env.app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == s["dossier"]))
        item = Feedback(dossier_id=d.id, procedure_code=d.procedure_code, province_code=d.province_code,
                        unit_code=d.received_by_unit, kind="petition", text="Xin giải quyết sớm",
                        contact_email="citizen@example.vn")
        db.session.add(item)
        db.session.commit()
        return {**s, "feedback": item.id}


@dataclass(frozen=True)
class Action:
    id: str
    surface: str                 # "api" (bearer), "admin" (session + CSRF) or "public" (nobody needed)
    method: str
    path: str                    # formatted with the state's values
    rule: Rule
    state: str = "none"
    body: Callable[[dict], dict] | None = None
    consumes: bool = False       # an allowed request changes the state: the next cell gets a new one
    listed: Callable | None = None   # (state, response) -> the resource is in the answer
    exceptions: dict = field(default_factory=dict)   # actor id -> outcome the rule does not give
    findings: dict = field(default_factory=dict)     # actor id -> why today's answer is wrong (xfail)



D = "/api/v1/dossiers/{dossier}"
V = "/api/v1/procedures/{code}/versions/{version}"
AD = "/admin/dossiers/{dossier}"
AV = "/admin/procedures/{code}/v/{version}"
MT01 = "/admin/message-templates/01/dossier.received/email"
MTVN = "/admin/message-templates/VN/dossier.received/email"
MT_FORM = {"subject": "Hồ sơ {{ code }}", "body": "Đã tiếp nhận hồ sơ {{ code }}, hẹn trả {{ due_date }}."}

API_ACTIONS = [
    # dossiers
    Action("api-list-dossiers", "api", "GET", "/api/v1/dossiers?commune_code=00070&limit=500", dossier_lister,
           "processing", listed=_json_items("code", "dossier")),
    Action("api-get-dossier", "api", "GET", D, dossier_reader, "processing"),
    Action("api-dossier-history", "api", "GET", D + "/history", dossier_reader, "processing"),
    Action("api-dossier-messages", "api", "GET", D + "/messages", delivery_log_reader, "processing"),
    Action("api-public-dossier", "public", "GET", "/api/v1/public/dossiers/{dossier}", anyone, "processing"),
    Action("api-start-dossier", "api", "POST", "/api/v1/dossiers", dossier_starter,
           body=_json({"procedure_code": "1.001193", "province_code": HOME_PROVINCE, "commune_code": HOME_COMMUNE,
                       "channel": 1, "applicant": APPLICANT, "data": BIRTH})),
    Action("api-list-documents", "api", "GET", D + "/documents", dossier_reader, "processing"),
    Action("api-get-document", "api", "GET", D + "/documents/receipt", dossier_reader, "processing"),
    Action("api-list-attachments", "api", "GET", D + "/attachments", dossier_reader, "attachment"),
    Action("api-upload-attachment", "api", "POST", D + "/attachments", for_the_citizen(attachment_uploader, None),
           "processing", body=_multipart(lambda s: {"kind": "applicant", "file": (io.BytesIO(PDF), "don.pdf")})),
    Action("api-upload-attachment-own", "api", "POST", D + "/attachments",
           for_the_citizen(attachment_uploader, PORTAL_01), "own_online",
           body=_multipart(lambda s: {"kind": "applicant", "file": (io.BytesIO(PDF), "don.pdf")})),
    Action("api-download-attachment", "api", "GET", "/api/v1/attachments/{attachment}", dossier_reader,
           "attachment"),
    # tasks
    # user tokens (issue 21, finding 9): one's own, and administrators' for the users they manage
    Action("api-list-tokens", "api", "GET", "/api/v1/auth/tokens", user_only),
    Action("api-list-user-tokens", "api", "GET", "/api/v1/auth/tokens?user={username}", token_manager,
           "victim_token", listed=_json_items("id", "token")),
    Action("api-revoke-token", "api", "DELETE", "/api/v1/auth/tokens/{token}", token_manager, "victim_token",
           consumes=True),
    Action("api-revoke-own-token", "api", "DELETE", "/api/v1/auth/tokens/{token}", owner_or_token_manager,
           "own_token", consumes=True),
    Action("api-notifications", "api", "GET", "/api/v1/notifications?per_page=100", notification_lister, "notified",
           listed=_json_items("id", "notification")),
    Action("api-inbox", "api", "GET", "/api/v1/tasks?view=available&per_page=200", inbox_lister("specialist"),
           "inbox", listed=_json_items("id", "task")),
    Action("api-get-task", "api", "GET", "/api/v1/tasks/{task}", dossier_reader, "processing"),
    Action("api-claim-task", "api", "POST", "/api/v1/tasks/{task}/claim", step_of("specialist"), "processing",
           consumes=True),
    Action("api-unclaim-task", "api", "POST", "/api/v1/tasks/{task}/unclaim", unit_leader_or("specialist"),
           "claimed", consumes=True),
    Action("api-assign-task", "api", "POST", "/api/v1/tasks/{task}/assign", unit_leader, "processing",
           body=_json({"username": "specialist.00070"}), consumes=True),
    Action("api-complete-task", "api", "POST", "/api/v1/tasks/{task}/complete", step_of("specialist"), "processing",
           body=_json({"data": RECORD_DATA}), consumes=True),
    # lifecycle
    Action("api-request-supplement", "api", "POST", D + "/actions/request-supplement", dossier_officer,
           "processing", body=_json({"items": ["Bản sao giấy chứng sinh"], "reason": REASON}), consumes=True),
    Action("api-request-payment", "api", "POST", D + "/actions/request-payment", dossier_officer, "processing",
           body=_json({"amount": 8000, "note": REASON}), consumes=True),
    Action("api-refuse", "api", "POST", D + "/actions/refuse", step_of("reception"), "reception",
           body=_json({"reason": REASON}), consumes=True),
    Action("api-apologize", "api", "POST", D + "/actions/apologize", unit_leader, "processing",
           body=_json(lambda s: {"new_due_at": s["new_due"], "reason": REASON}), consumes=True),
    Action("api-stop", "api", "POST", D + "/actions/stop", unit_leader, "processing",
           body=_json({"reason": REASON}), consumes=True),
    Action("api-return-to-step", "api", "POST", D + "/actions/return-to-step", unit_leader, "decided",
           body=_json({"step_id": "Task_Record", "reason": REASON}), consumes=True),
    Action("api-return-to-step-holder", "api", "POST", D + "/actions/return-to-step", return_step_holder_or_leader,
           "decided_held", body=_json({"step_id": "Task_Record", "reason": REASON}), consumes=True),
    Action("api-return-to-step-colleague", "api", "POST", D + "/actions/return-to-step", unit_leader,
           "decided_held_by_colleague", body=_json({"step_id": "Task_Record", "reason": REASON}), consumes=True),
    Action("api-return-result", "api", "POST", D + "/actions/return-result", step_of("reception"), "decided",
           body=_json({"method": "in_person", "data": {"result_number": "KQ-MATRIX"}}), consumes=True),
    Action("api-event-withdrawn", "api", "POST", D + "/events/withdrawn", for_the_citizen(event_sender, None),
           "processing", body=_json({"data": {"reason": REASON}}), consumes=True),
    Action("api-event-withdrawn-own", "api", "POST", D + "/events/withdrawn",
           for_the_citizen(event_sender, PORTAL_01), "own_online", body=_json({"data": {"reason": REASON}}),
           consumes=True),
    Action("api-event-withdrawn-other-integrators", "api", "POST", D + "/events/withdrawn",
           for_the_citizen(event_sender, BUILDER), "reception", body=_json({"data": {"reason": REASON}}),
           consumes=True),
    Action("api-retry-incident", "api", "POST", D + "/actions/retry", admin_of_resource, "incident",
           body=_json({}), consumes=True),
    # procedures
    Action("api-catalogue", "api", "GET", "/api/v1/procedures?province=01", anyone),
    Action("api-get-procedure", "api", "GET", "/api/v1/procedures/1.001193?province=01", anyone),
    Action("api-list-versions", "api", "GET", "/api/v1/procedures/1.001193/versions", anyone),
    Action("api-list-versions-draft", "api", "GET", "/api/v1/procedures/{code}/versions",
           version_insider(HOME_PROVINCE, HIDDEN), "draft", listed=_json_items("version", "version")),
    Action("api-get-version", "api", "GET", V, version_insider(HOME_PROVINCE), "draft"),
    Action("api-get-published-version", "api", "GET", V, anyone, "national"),
    Action("api-upload-procedure", "api", "POST", "/api/v1/procedures", procedure_writer,
           body=_multipart(_bpmn_upload)),
    Action("api-put-lanes", "api", "PUT", V + "/lanes", procedure_writer, "draft",
           body=_json({"Lane_Specialist": "commune/specialist"})),
    Action("api-mark-executable", "api", "POST", V + "/executable", procedure_writer, "draft"),
    Action("api-put-schedule", "api", "PUT", V + "/schedule", procedure_writer, "draft", body=_json({"units": []})),
    Action("api-put-supplement-window", "api", "PUT", V + "/supplement-window", procedure_writer, "draft",
           body=_json({"supplement_window_days": 3})),
    Action("api-put-documents", "api", "PUT", V + "/documents", procedure_writer, "draft",
           body=_json({"documents": [{"name": "Tờ khai đăng ký khai sinh", "copies": "01 bản chính"}]})),
    Action("api-publish", "api", "POST", V + "/publish", procedure_writer, "publishable", consumes=True),
    Action("api-delete-draft", "api", "DELETE", V, procedure_writer, "draft", consumes=True),
    Action("api-get-decision", "api", "GET", V + "/decisions/{decision}", version_insider(HOME_PROVINCE),
           "draft_with_decision"),
    Action("api-withdraw-variant-preview", "api", "GET", "/api/v1/procedures/{code}/variants/{province}/withdrawal",
           procedure_writer, "province_variant"),
    Action("api-withdraw-variant", "api", "POST", "/api/v1/procedures/{code}/variants/{province}/withdrawal",
           procedure_writer, "province_variant", consumes=True),
    # reference data and figures
    Action("api-units", "api", "GET", "/api/v1/units?parent=01&per_page=5", anyone),
    Action("api-calendar-due", "api", "GET",
           "/api/v1/calendar/due?from=2026-03-02T09:00:00%2B07:00&kind=working&days=3", anyone),
    Action("api-calendar-days", "api", "GET", "/api/v1/calendar/days?scope=01", anyone),
    Action("api-declare-calendar-day", "api", "POST", "/api/v1/calendar/days", admin_of_province,
           body=_json({"date": "2031-01-07", "kind": "off", "scope": HOME_PROVINCE, "note": "ma trận"})),
    Action("api-office-hours", "api", "GET", "/api/v1/calendar/office-hours?province=01", anyone),
    Action("api-set-office-hours", "api", "PUT", "/api/v1/calendar/office-hours", admin_of_province,
           body=_json({"scope": HOME_PROVINCE, "morning_start": "07:30", "morning_end": "11:30",
                       "afternoon_start": "13:00", "afternoon_end": "17:00", "same_day_cutoff": "15:30"})),
    Action("api-statistics", "api", "GET", "/api/v1/statistics?province=01", statistics_reader),
    Action("api-tracking-book", "api", "GET", "/api/v1/units/00070/tracking-book", book_reader, "processing"),
    # integrations and operations
    Action("api-list-integrators", "api", "GET", "/api/v1/admin/integrators", admin_lister, "victim_key",
           listed=_json_items("name", "integrator_name")),
    Action("api-issue-key", "api", "POST", "/api/v1/admin/integrators/keys", admin_of_province,
           body=_json(lambda s: {"name": f"matrix-issued-{next(_serial)}", "provinces": [HOME_PROVINCE],
                                 "permissions": ["dossiers:read"]})),
    Action("api-rotate-key", "api", "POST", "/api/v1/admin/keys/{key}/rotate", admin_of_resource, "victim_key",
           body=_json({"overlap_hours": 1}), consumes=True),
    Action("api-revoke-key", "api", "POST", "/api/v1/admin/keys/{key}/revoke", admin_of_resource, "victim_key",
           consumes=True),
    Action("api-deliveries", "api", "GET", "/api/v1/admin/integrators/{integrator}/deliveries", admin_of_resource,
           "victim_key"),
    Action("api-list-webhooks", "api", "GET", "/api/v1/webhooks", subscription_lister, "subscription",
           listed=_json_items("id", "subscription")),
    Action("api-subscribe-webhook", "api", "POST", "/api/v1/webhooks", integrator_only,
           body=_json(lambda s: {"url": f"https://hooks.example.test/new-{next(_serial)}",
                                 "event_types": ["dossier.status_changed"]})),
    Action("api-unsubscribe-webhook", "api", "DELETE", "/api/v1/webhooks/{subscription}", subscription_owner,
           "subscription", consumes=True),
    Action("api-own-deliveries", "api", "GET", "/api/v1/integrations/deliveries", subscription_lister, "delivery",
           listed=_json_items("id", "delivery")),
    Action("api-redeliver", "api", "POST", "/api/v1/integrations/deliveries/{delivery}/redeliver",
           subscription_owner, "delivery"),
    Action("api-incidents", "api", "GET", "/api/v1/admin/incidents", admin_lister, "incident",
           listed=_json_items("code", "dossier")),
    Action("api-dead-jobs", "api", "GET", "/api/v1/admin/jobs", admin_lister, "dead_job",
           listed=_json_items("id", "job")),
    Action("api-requeue-job", "api", "POST", "/api/v1/admin/jobs/{job}/retry", admin_of_resource, "dead_job",
           consumes=True),
    # connectors: administered per province (or VN), like keys and days off
    Action("api-list-connectors", "api", "GET", "/api/v1/admin/connectors", admin_lister, "connector",
           listed=_json_items("id", "connector")),
    Action("api-create-connector", "api", "POST", "/api/v1/admin/connectors", admin_of_province,
           body=_json(_connector_json)),
    Action("api-create-national-connector", "api", "POST", "/api/v1/admin/connectors", national_admin,
           body=_json(lambda s: {**_connector_json(), "scope": "VN"})),
    Action("api-get-connector", "api", "GET", "/api/v1/admin/connectors/{connector}", admin_of_resource,
           "connector"),
    Action("api-update-connector", "api", "PUT", "/api/v1/admin/connectors/{connector}", admin_of_resource,
           "connector", body=_json(_connector_json)),
    Action("api-disable-connector", "api", "POST", "/api/v1/admin/connectors/{connector}/disable",
           admin_of_resource, "connector"),
    Action("api-enable-connector", "api", "POST", "/api/v1/admin/connectors/{connector}/enable",
           admin_of_resource, "connector"),
    # citizens
    Action("public-tracking", "public", "GET", "/tra-cuu?code={dossier}", anyone, "processing"),
    Action("public-home", "public", "GET", "/", anyone, "processing"),
    Action("public-rate", "public", "POST", "/tra-cuu/danh-gia", anyone, "returned", consumes=True,
           body=_form(lambda s: {"code": s["dossier"], "phone": "4321", "score": "5"})),
    Action("public-feedback-form", "public", "GET", "/tra-cuu/phan-anh?province=" + HOME_PROVINCE, anyone),
    Action("public-feedback", "public", "POST", "/tra-cuu/phan-anh", anyone,
           body=_form({"kind": "feedback", "text": "Biểu mẫu khó hiểu", "procedure_code": "1.001193",
                       "province_code": HOME_PROVINCE})),
]


def _action_form(**fields):
    return _form(lambda s: {k: (v(s) if callable(v) else v) for k, v in fields.items()})


ADMIN_ACTIONS = [
    Action("admin-home", "admin", "GET", "/admin/", anyone),
    # officers' workspace
    Action("admin-inbox", "admin", "GET", "/admin/inbox", officer_page(inbox_lister("specialist")), "inbox",
           listed=_page_has('href="/admin/tasks/{task}"')),
    Action("admin-task", "admin", "GET", "/admin/tasks/{task}", officer_page(dossier_reader), "processing"),
    # the dossier list (issue 19): what access.Visibility lets officers and supervisors see, never more
    Action("admin-dossier-list", "admin", "GET", "/admin/dossiers", officer_page(dossier_lister), "processing",
           listed=_page_has('href="/admin/dossiers/{dossier}"')),
    Action("admin-dossier-search-code", "admin", "GET", "/admin/dossiers?q={dossier}", officer_page(dossier_lister),
           "processing", listed=_redirects_to("/admin/dossiers/{dossier}")),
    Action("admin-claim-task", "admin", "POST", "/admin/tasks/{task}/claim", officer_page(step_of("specialist")),
           "processing", consumes=True),
    Action("admin-unclaim-task", "admin", "POST", "/admin/tasks/{task}/unclaim",
           officer_page(unit_leader_or("specialist")), "claimed", consumes=True),
    Action("admin-assign-task", "admin", "POST", "/admin/tasks/{task}/assign", officer_page(unit_leader),
           "processing", body=_form({"username": "specialist.00070"}), consumes=True),
    Action("admin-complete-task", "admin", "POST", "/admin/tasks/{task}/complete", officer_page(step_of("specialist")),
           "processing", body=_form(RECORD_FORM), consumes=True),
    Action("admin-takeover-request", "admin", "POST", "/admin/tasks/{task}/takeover-request",
           officer_page(step_of("specialist")), "held_by_colleague"),
    Action("admin-inbox-stamp", "admin", "GET", "/admin/inbox/stamp", officer_page(anyone)),
    Action("admin-inbox-claim", "admin", "POST", "/admin/inbox/claim", officer_page(step_of("specialist")),
           "processing", body=_form(lambda s: {"task_ids": s["task"]}), consumes=True),
    Action("admin-inbox-assign", "admin", "POST", "/admin/inbox/assign", officer_page(leader_here), "processing",
           body=_form(lambda s: {"task_ids": s["task"], "username": "specialist.00070"}), consumes=True),
    Action("admin-absence", "admin", "GET", "/admin/absence?unit=00070", leader_page(leader_here)),
    Action("admin-absence-set", "admin", "POST", "/admin/absence", leader_page(leader_here), "absence_pair",
           body=_form(lambda s: {"unit": HOME_COMMUNE, "officer": s["officer"], "substitute": s["substitute"],
                                 "starts_on": s["today"], "ends_on": s["today"]}), consumes=True),
    Action("admin-absence-end", "admin", "POST", "/admin/absence/{substitute_row}/end", leader_page(leader_here),
           "absence_set", body=_form({"unit": HOME_COMMUNE}), consumes=True),
    Action("admin-absence-move", "admin", "POST", "/admin/absence/{substitute_row}/move", leader_page(leader_here),
           "absence_set", body=_form({"unit": HOME_COMMUNE})),
    Action("admin-dossier", "admin", "GET", AD, officer_page(dossier_reader), "processing"),
    Action("admin-dossier-messages", "admin", "GET", AD + "/messages", admin_page(delivery_log_reader), "processing"),
    Action("admin-request-supplement", "admin", "POST", AD + "/actions/request-supplement",
           officer_page(dossier_officer), "processing",
           body=_action_form(items="Bản sao giấy chứng sinh", reason=REASON), consumes=True),
    Action("admin-request-payment", "admin", "POST", AD + "/actions/request-payment", officer_page(dossier_officer),
           "processing", body=_action_form(amount="8000", note=REASON), consumes=True),
    Action("admin-refuse", "admin", "POST", AD + "/actions/refuse", officer_page(step_of("reception")), "reception",
           body=_action_form(reason=REASON), consumes=True),
    Action("admin-apologize", "admin", "POST", AD + "/actions/apologize", officer_page(unit_leader),
           "processing", body=_action_form(new_due_at=lambda s: s["new_due"], reason=REASON), consumes=True),
    Action("admin-stop", "admin", "POST", AD + "/actions/stop", officer_page(unit_leader), "processing",
           body=_action_form(reason=REASON), consumes=True),
    Action("admin-return-to-step", "admin", "POST", AD + "/actions/return-to-step", officer_page(unit_leader),
           "decided", body=_action_form(step_id="Task_Record", reason=REASON), consumes=True),
    Action("admin-return-to-step-holder", "admin", "POST", AD + "/actions/return-to-step",
           officer_page(return_step_holder_or_leader), "decided_held",
           body=_action_form(step_id="Task_Record", reason=REASON), consumes=True),
    Action("admin-return-result", "admin", "POST", AD + "/actions/return-result", officer_page(step_of("reception")),
           "decided", body=_action_form(method="in_person", result_number="KQ-MATRIX"), consumes=True),
    Action("admin-event-withdrawn", "admin", "POST", AD + "/events/withdrawn", officer_page(dossier_officer),
           "processing", body=_action_form(reason=REASON), consumes=True),
    Action("admin-get-document", "admin", "GET", AD + "/documents/receipt", officer_page(dossier_reader),
           "processing"),
    Action("admin-upload-attachment", "admin", "POST", AD + "/attachments", officer_page(dossier_officer),
           "processing", body=_form(lambda s: {"kind": "applicant", "file": (io.BytesIO(PDF), "don.pdf")})),
    Action("admin-download-attachment", "admin", "GET", "/admin/attachments/{attachment}",
           officer_page(dossier_reader), "attachment"),
    # the one-stop desk's intake: a walk-in dossier recorded by a reception officer of the unit
    Action("admin-desk", "admin", "GET", "/admin/desk?q=khai+sinh", desk_page(anyone)),
    Action("admin-desk-form", "admin", "GET", "/admin/desk?procedure=1.001193", desk_page(anyone)),
    Action("admin-desk-receive", "admin", "POST", "/admin/desk", desk_page(dossier_starter), body=_form(DESK_FORM)),
    Action("admin-desk-result", "admin", "GET", "/admin/desk/{dossier}", desk_page(dossier_reader), "processing"),
    # the bell: every logged-in user reads their own notifications only
    Action("admin-notifications", "admin", "GET", "/admin/notifications", notification_lister, "notified",
           listed=_page_has('data-notification="{notification}"')),
    Action("admin-notifications-count", "admin", "GET", "/admin/notifications/count", anyone),
    Action("admin-open-notification", "admin", "POST", "/admin/notifications/{notification}/open",
           notification_owner, "notified"),
    Action("admin-read-all-notifications", "admin", "POST", "/admin/notifications/read-all", anyone),
    # designers
    Action("admin-catalogue", "admin", "GET", "/admin/procedures", designer_page(anyone)),
    Action("admin-catalogue-of-19", "admin", "GET", "/admin/procedures?scope=19",
           designer_page(designer_views("19"))),
    Action("admin-upload-page", "admin", "GET", "/admin/procedures/upload", designer_page(anyone)),
    Action("admin-upload-procedure", "admin", "POST", "/admin/procedures/upload",
           designer_page(designer_of(HOME_PROVINCE)), body=_form(_bpmn_upload)),
    Action("admin-procedure", "admin", "GET", "/admin/procedures/1.001193", designer_page(anyone)),
    Action("admin-derive", "admin", "POST", "/admin/procedures/1.001193/derive",
           designer_page(designer_of(HOME_PROVINCE)), body=_form({"province": HOME_PROVINCE})),
    Action("admin-version", "admin", "GET", AV, designer_page(designer_views(HOME_PROVINCE)), "draft"),
    Action("admin-national-version", "admin", "GET", AV, designer_page(designer_views(NATIONAL)), "national"),
    Action("admin-compare", "admin", "GET", AV + "/compare", designer_page(designer_views(HOME_PROVINCE)), "draft"),
    Action("admin-dry-run-page", "admin", "GET", AV + "/dry-run", designer_page(designer_views(HOME_PROVINCE)),
           "draft"),
    Action("admin-task-fields", "admin", "GET", AV + "/tasks/Task_Record/fields",
           designer_page(designer_views(HOME_PROVINCE)), "draft"),
    Action("admin-modeler", "admin", "GET", AV + "/modeler", designer_page(designer_edits(HOME_PROVINCE)), "draft"),
    Action("admin-lane-route", "admin", "POST", AV + "/lanes/Lane_Specialist",
           designer_page(designer_edits(HOME_PROVINCE)), "draft",
           body=_form({"level": "commune", "role": "specialist"})),
    Action("admin-task-form", "admin", "POST", AV + "/tasks/Task_Record/form",
           designer_page(designer_edits(HOME_PROVINCE)), "draft", body=_form({"form_key": "KS-HOTICH"})),
    Action("admin-task-deadline", "admin", "POST", AV + "/tasks/Task_Record/deadline",
           designer_page(designer_edits(HOME_PROVINCE)), "draft", body=_form({"amount": "2", "unit": "days"})),
    Action("admin-task-public-label", "admin", "POST", AV + "/tasks/Task_Record/public-label",
           designer_page(designer_edits(HOME_PROVINCE)), "draft", body=_form({"public_label": "Ghi sổ hộ tịch"})),
    Action("admin-meta", "admin", "POST", AV + "/meta", designer_page(designer_edits(HOME_PROVINCE)), "draft",
           body=_form({"deadline_days": "", "deadline_kind": "same-day", "fee_kind": "free"})),
    Action("admin-mark-executable", "admin", "POST", AV + "/executable", designer_page(designer_edits(HOME_PROVINCE)),
           "draft"),
    Action("admin-schedule", "admin", "POST", AV + "/schedule", designer_page(designer_edits(HOME_PROVINCE)), "draft",
           body=_form({"units": ""})),
    Action("admin-version-documents", "admin", "POST", AV + "/documents", designer_page(designer_edits(HOME_PROVINCE)),
           "draft", body=_form({"documents": "Tờ khai đăng ký khai sinh | 01 bản chính"})),
    Action("admin-add-lane", "admin", "POST", AV + "/lanes", designer_page(designer_edits(HOME_PROVINCE)), "draft",
           body=_form({"name": "Làn mới"})),
    Action("admin-delete-lane", "admin", "POST", AV + "/lanes/{lane}/delete",
           designer_page(designer_edits(HOME_PROVINCE)), "draft_with_empty_lane", consumes=True),
    Action("admin-move-task", "admin", "POST", AV + "/tasks/Task_Record/lane",
           designer_page(designer_edits(HOME_PROVINCE)), "draft", body=_form({"lane_id": "Lane_Leader"}),
           consumes=True),
    Action("admin-save-task-fields", "admin", "POST", AV + "/tasks/Task_Record/fields",
           designer_page(designer_edits(HOME_PROVINCE)), "draft",
           body=_form({"count": "0", "name_0": "ghi_chu", "label_0": "Ghi chú", "type_0": "string"})),
    Action("admin-condition", "admin", "POST", AV + "/flows/Flow_Accept/condition",
           designer_page(designer_edits(HOME_PROVINCE)), "draft",
           body=_form({"condition": "reception_result == 'accept'"})),
    Action("admin-dry-run", "admin", "POST", AV + "/dry-run", designer_page(designer_views(HOME_PROVINCE)), "draft",
           body=_form({"commune_code": HOME_COMMUNE, "f.reception_result": "accept", "f.check_result": "valid",
                       "f.decision": "approve"})),
    Action("admin-save-model", "admin", "POST", AV + "/modeler", designer_page(designer_edits(HOME_PROVINCE)),
           "draft_in_modeler", body=_form(lambda s: {"xml": BIRTH_BPMN.decode("utf-8"), "base": s["revision"]}),
           consumes=True),  # the save changes the draft's revision
    Action("admin-copy", "admin", "POST", AV + "/copy", designer_page(designer_edits(HOME_PROVINCE)), "draft"),
    Action("admin-copy-national", "admin", "POST", AV + "/copy", designer_page(designer_edits(NATIONAL)), "national"),
    Action("admin-publish", "admin", "POST", AV + "/publish", designer_page(designer_edits(HOME_PROVINCE)),
           "publishable", body=_form({"confirm": "1"}), consumes=True),
    Action("admin-publish-confirm", "admin", "GET", AV + "/publish", designer_page(designer_edits(HOME_PROVINCE)),
           "publishable"),
    Action("admin-delete-draft", "admin", "POST", AV + "/delete", designer_page(designer_edits(HOME_PROVINCE)),
           "draft", consumes=True),
    Action("admin-withdraw-variant-confirm", "admin", "GET", "/admin/procedures/{code}/withdraw/{province}",
           designer_page(designer_of(HOME_PROVINCE)), "province_variant"),
    Action("admin-withdraw-variant", "admin", "POST", "/admin/procedures/{code}/withdraw/{province}",
           designer_page(designer_of(HOME_PROVINCE)), "province_variant", body=_form({"confirm": "1"}),
           consumes=True),
    Action("admin-decision", "admin", "GET", AV + "/decisions/{decision}",
           designer_page(designer_views(HOME_PROVINCE)), "draft_with_decision"),
    Action("admin-save-decision", "admin", "POST", AV + "/decisions/{decision}",
           designer_page(designer_edits(HOME_PROVINCE)), "draft_with_decision",
           body=_form({"count": "1", **DECISION_RULE})),
    # administrators
    Action("admin-users", "admin", "GET", "/admin/users?q=matrix.victim", admin_page(admin_lister), "victim_user",
           listed=_page_has('href="/admin/users/{user}"')),
    Action("admin-user", "admin", "GET", "/admin/users/{user}", admin_page(admin_of_resource), "victim_user"),
    Action("admin-create-user", "admin", "POST", "/admin/users", admin_page(admin_of_province), body=_form(_new_user)),
    Action("admin-add-role", "admin", "POST", "/admin/users/{user}/roles", admin_page(admin_of_resource),
           "victim_user", body=_form({"role": "leader", "unit_code": HOME_COMMUNE}), consumes=True),
    Action("admin-remove-role", "admin", "POST", "/admin/users/{user}/roles/{pair}/delete",
           admin_page(admin_of_resource), "victim_user", consumes=True),
    Action("admin-lock-user", "admin", "POST", "/admin/users/{user}/active", admin_page(admin_of_resource),
           "victim_user", body=_form({"active": "0"})),
    Action("admin-reset-password", "admin", "POST", "/admin/users/{user}/password", admin_page(admin_of_resource),
           "victim_user", body=_form({"password": "demo12345"})),
    Action("admin-user-profile", "admin", "POST", "/admin/users/{user}/profile", admin_page(admin_of_resource),
           "victim_user", body=_form({"full_name": "Nạn Nhân Ma Trận", "title": "Chuyên viên"})),
    Action("admin-user-revoke-token", "admin", "POST", "/admin/users/{user}/tokens/{token}/revoke",
           admin_page(admin_of_resource), "victim_token", consumes=True),
    Action("admin-logout-everywhere", "admin", "POST", "/admin/users/{user}/logout-everywhere",
           admin_page(admin_of_resource), "victim_token", consumes=True),
    # every user's own account page: their tokens, each revocable by them only
    Action("admin-account", "admin", "GET", "/admin/account", anyone),
    # one's own daily email digest (issue 24): every user chooses for themself, nobody for another
    Action("admin-account-digest", "admin", "POST", "/admin/account/digest", anyone,
           body=_form({"digest_enabled": "1", "digest_email": "digest@example.vn"})),
    Action("admin-account-revoke-token", "admin", "POST", "/admin/account/tokens/{token}/revoke", token_owner,
           "own_token", consumes=True),
    Action("admin-calendar", "admin", "GET", "/admin/calendar?scope=01", admin_page(admin_of_province)),
    Action("admin-declare-day", "admin", "POST", "/admin/calendar", admin_page(admin_of_province),
           body=_form({"scope": HOME_PROVINCE, "day": "2031-01-08", "kind": "off", "note": "ma trận"})),
    Action("admin-remove-day", "admin", "POST", "/admin/calendar/{day}/delete", admin_page(admin_of_province),
           "declared_day", body=_form(lambda s: {"scope": HOME_PROVINCE, "year": str(s["year"])}), consumes=True),
    Action("admin-confirm-day", "admin", "POST", "/admin/calendar/{day}/confirm", admin_page(admin_of_province),
           "reported_day", body=_form({"scope": HOME_PROVINCE}), consumes=True),
    Action("admin-office-hours", "admin", "POST", "/admin/calendar/office-hours", admin_page(admin_of_province),
           body=_form({"scope": HOME_PROVINCE, "morning_start": "07:30", "morning_end": "11:30",
                       "afternoon_start": "13:00", "afternoon_end": "17:00", "same_day_cutoff": "15:30"})),
    Action("admin-units", "admin", "GET", f"/admin/units?q={MANAGED_UNIT}", admin_page(admin_lister),
           listed=_page_has(f'href="/admin/units/{MANAGED_UNIT}"')),
    Action("admin-units-lookup", "admin", "GET", "/admin/units/lookup?q=phuong+ngoc+ha", admin_page(admin_lister),
           listed=lambda s, r: MANAGED_UNIT in [i["code"] for i in (r.get_json() or {}).get("items", [])]),
    Action("admin-unit", "admin", "GET", f"/admin/units/{MANAGED_UNIT}", admin_page(admin_of_resource)),
    Action("admin-unit-validity", "admin", "POST", f"/admin/units/{MANAGED_UNIT}", admin_page(admin_of_resource),
           body=_form({"valid_from": "2025-07-01", "valid_to": ""})),
    Action("admin-unit-disadvantaged", "admin", "POST", f"/admin/units/{MANAGED_UNIT}/disadvantaged",
           admin_page(admin_of_resource), body=_form({"disadvantaged": "1"})),
    Action("admin-unit-contact", "admin", "POST", f"/admin/units/{MANAGED_UNIT}/contact",
           admin_page(admin_of_resource), body=_form({"address": "Số 1 Tràng Thi", "phone": "024 3825 0000"})),
    Action("admin-audit", "admin", "GET", "/admin/audit", audit_page(anyone)),
    Action("admin-statistics", "admin", "GET", "/admin/statistics?province=01", statistics_page(statistics_reader)),
    Action("admin-feedback", "admin", "GET", "/admin/statistics/feedback?province=01",
           statistics_page(statistics_reader)),
    Action("admin-answer-feedback", "admin", "POST", "/admin/statistics/feedback/{feedback}/answer",
           statistics_page(feedback_answerer), "feedback", consumes=True, body=_form({"answer": "Đã xử lý."})),
    Action("admin-statistics-csv", "admin", "GET", "/admin/statistics/units.csv?province=01",
           statistics_page(statistics_reader)),
    Action("admin-tracking-book", "admin", "GET", "/admin/tracking-book?unit=00070", book_page(book_reader),
           "processing"),
    Action("admin-tracking-book-csv", "admin", "GET", "/admin/tracking-book.csv?unit=00070", book_page(book_reader),
           "processing"),
    Action("admin-tracking-book-print", "admin", "GET", "/admin/tracking-book/print?unit=00070",
           book_page(book_reader), "processing"),
    Action("admin-operations", "admin", "GET", "/admin/operations", admin_page(admin_lister), "dead_job",
           listed=_page_has('action="/admin/operations/jobs/{job}/retry"')),
    Action("admin-issue-key", "admin", "POST", "/admin/operations/keys", admin_page(admin_of_province),
           body=_form(lambda s: {"name": f"matrix-issued-{next(_serial)}", "provinces": HOME_PROVINCE,
                                 "permissions": "dossiers:read"})),
    Action("admin-rotate-key", "admin", "POST", "/admin/operations/keys/{key}/rotate", admin_page(admin_of_resource),
           "victim_key", body=_form({"overlap_hours": "1"}), consumes=True),
    Action("admin-revoke-key", "admin", "POST", "/admin/operations/keys/{key}/revoke", admin_page(admin_of_resource),
           "victim_key", consumes=True),
    Action("admin-deliveries", "admin", "GET", "/admin/operations/integrators/{integrator}",
           admin_page(admin_of_resource), "victim_key"),
    Action("admin-requeue-job", "admin", "POST", "/admin/operations/jobs/{job}/retry", admin_page(admin_of_resource),
           "dead_job", consumes=True),
    Action("admin-retry-incident", "admin", "POST", "/admin/operations/incidents/{dossier}/retry",
           admin_page(admin_of_resource), "incident", consumes=True),
    Action("admin-connectors", "admin", "GET", "/admin/connectors", admin_page(admin_lister), "connector",
           listed=_page_has('href="/admin/connectors/{connector}"')),
    Action("admin-create-connector", "admin", "POST", "/admin/connectors", admin_page(admin_of_province),
           body=_form(_connector_form)),
    Action("admin-connector", "admin", "GET", "/admin/connectors/{connector}", admin_page(admin_of_resource),
           "connector"),
    Action("admin-update-connector", "admin", "POST", "/admin/connectors/{connector}", admin_page(admin_of_resource),
           "connector", body=_form(_connector_form)),
    Action("admin-connector-active", "admin", "POST", "/admin/connectors/{connector}/active",
           admin_page(admin_of_resource), "connector", body=_form({"active": "0"})),
    # notification templates (issue 24): a province's rows by its (or VN's) administrators, VN's by VN's
    Action("admin-message-templates", "admin", "GET", "/admin/message-templates", admin_page(anyone)),
    Action("admin-message-templates-of-01", "admin", "GET", "/admin/message-templates?scope=01",
           admin_page(admin_of_province)),
    Action("admin-message-templates-of-vn", "admin", "GET", "/admin/message-templates?scope=VN",
           admin_page(national_admin)),
    Action("admin-message-template", "admin", "GET", MT01, admin_page(admin_of_province)),
    Action("admin-message-template-vn", "admin", "GET", MTVN, admin_page(national_admin)),
    Action("admin-save-message-template", "admin", "POST", MT01, admin_page(admin_of_province),
           body=_form(MT_FORM)),
    Action("admin-save-message-template-vn", "admin", "POST", MTVN, admin_page(national_admin),
           body=_form(MT_FORM)),
    Action("admin-preview-message-template", "admin", "POST", MT01, admin_page(admin_of_province),
           body=_form({**MT_FORM, "action": "preview"})),
    Action("admin-reset-message-template", "admin", "POST", MT01 + "/reset", admin_page(admin_of_province)),
    Action("admin-reset-message-template-vn", "admin", "POST", MTVN + "/reset", admin_page(national_admin)),
]

ACTIONS: list[Action] = API_ACTIONS + ADMIN_ACTIONS


def expected(action: Action, who: Who) -> object:
    """The outcome the policy gives this actor for this action."""
    if who.id in action.exceptions:
        return action.exceptions[who.id]
    if action.surface != "public" and who.anonymous:
        return UNAUTHENTICATED if action.surface == "api" else LOGIN
    if action.surface == "admin" and who.is_key:
        return LOGIN  # the back office knows sessions only: a bearer key opens nothing there
    return action.rule(who)


def check_table() -> None:
    """The table is consistent: unique ids, known states, exceptions and findings naming actors."""
    ids = [a.id for a in ACTIONS]
    assert len(ids) == len(set(ids)), "duplicate action ids"
    assert len({w.id for w in ACTORS}) == len(ACTORS), "duplicate actor ids"
    actors = {w.id for w in ACTORS}
    for a in ACTIONS:
        assert a.state in STATES, (a.id, a.state)
        assert a.surface in ("api", "admin", "public"), a.id
        assert set(a.exceptions) <= actors and set(a.findings) <= actors, a.id
        # Some actor must be allowed it: that cell proves the state lets the action succeed, so the
        # refusals of the other cells are about who asks, not about the state (a 409).
        assert any(expected(a, w) == ALLOWED and w.id not in a.findings for w in ACTORS), a.id
