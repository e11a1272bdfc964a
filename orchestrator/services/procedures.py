"""Procedure versions: upload, map lanes, publish (and roll back), and what is in force."""
from __future__ import annotations

import hashlib
import re

from lxml import etree
from sqlalchemy import Text, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from .. import engine
from ..engine import (
    DiagramRejected, Problem, bundle_for, check_diagram, dry_run, lane_warnings, mapping_keys, parse_route,
    parse_trusted, process_warnings, step_paths,
)
from ..i18n import vi
from ..models import Procedure, ProcedureAlias, ProcedureCall, ProcedureInForce, ProcedureVersion, Unit
from ..models.procedures import DRAFT, NATIONAL, PUBLISHED
from ..models.types import utcnow
from . import access, audit, connectors, fees, forms, schedules
from .versions import called_specs, called_steps, decision_docs, pinned_calls, step_forms
from .auth import Actor
from .errors import Conflict, Invalid, NotFound, Rejected, TooLarge
from .routing import ITEM, unresolved_communes

CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{2,39}$")
DEADLINE_KINDS = ("working", "calendar", "same-day")


def diagram_error(exc: DiagramRejected):
    """The service error for a diagram the engine refused (413, 400 unreadable XML, 422 with problems)."""
    problems = [p.as_dict() for p in exc.problems]
    message = vi("Sơ đồ BPMN không hợp lệ.")
    if exc.status == 413:
        return TooLarge(exc.problems[0].message, problems=problems)
    if exc.status == 400:
        return Invalid(exc.problems[0].message, problems=problems, code="invalid_xml")
    fields = {p.field: p.message for p in exc.problems if p.field}
    dangling = [p for p in exc.problems if p.code == "dangling_reference"]
    if dangling:  # issue 22: the message itself names the element and the missing reference
        message = vi("Sơ đồ BPMN không hợp lệ: %(first)s", first=dangling[0].message)
    return Rejected(message, problems=problems, code="invalid_bpmn", fields=fields)


def content_hash(xml: str | bytes) -> str:
    """SHA-256 of a diagram's canonical form (blank text and layout of the XML ignored): two
    uploads of one drawing give one hash."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml, parser)
    return hashlib.sha256(etree.tostring(root, method="c14n")).hexdigest()


def _duplicate_of(session: Session, code: str, scope: str, digest: str) -> ProcedureVersion | None:
    """The version of `code` in `scope` with this very diagram (older rows hash on the fly)."""
    for version in session.scalars(select(ProcedureVersion).where(
            ProcedureVersion.procedure_code == code, ProcedureVersion.scope == scope)
            .order_by(ProcedureVersion.version)).all():
        if (version.content_hash or content_hash(version.bpmn_xml)) == digest:
            return version
    return None


def _previous(session: Session, code: str, scope: str) -> ProcedureVersion | None:
    """What a new upload of a known procedure starts from: the version in force in its scope, else
    the national one, else its latest version."""
    link = session.get(ProcedureInForce, (code, scope)) or session.get(ProcedureInForce, (code, NATIONAL))
    if link is not None:
        return link.version
    return session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_code == code)
                          .order_by(ProcedureVersion.version.desc()).limit(1))


def validate_meta(session: Session, code: str, scope: str, deadline_days, deadline_kind: str) -> dict:
    """A procedure code, scope and legal deadline as a designer gave them -> the deadline columns."""
    fields = {}
    if not code or not CODE_RE.match(code):
        fields["code"] = vi("mã thủ tục không hợp lệ (ví dụ 1.001193)")
    if scope != NATIONAL:
        unit = session.get(Unit, scope) if scope else None
        if unit is None or unit.level != "province":
            fields["scope"] = vi("phải là 'national' hoặc mã tỉnh (ví dụ 01)")
    if deadline_kind not in DEADLINE_KINDS:
        fields["deadline_kind"] = vi("một trong %(choices)s", choices=", ".join(DEADLINE_KINDS))
    days = None
    if deadline_days not in (None, ""):
        try:
            days = int(deadline_days)
            if days < 1 or days > 3650:
                raise ValueError
        except (TypeError, ValueError):
            fields["deadline_days"] = vi("số ngày nguyên dương")
    if deadline_kind in ("working", "calendar") and days is None and "deadline_days" not in fields:
        fields["deadline_days"] = vi("bắt buộc với thời hạn working/calendar")
    if fields:
        raise Invalid(vi("Thông tin thủ tục không hợp lệ."), fields=fields)
    return {"deadline_days": days, "deadline_kind": deadline_kind}


def draft_warnings(session: Session, model: dict, lane_map: dict) -> list[dict]:
    """What a draft carries until fixed: processes, routing, forms (a step without a form of the
    library gets the built-in one: a warning, not a refusal)."""
    warnings = [p.as_dict() for p in process_warnings(model) + lane_warnings(model, lane_map)]
    keys = {t["form_key"] for t in model["user_tasks"] if t["form_key"]}
    known = forms.library(session, keys)
    for task in model["user_tasks"]:
        if task.get("generated_form") and task["form_key"] not in known:
            continue  # Camunda's generated form (formData) is the step's form
        if not task["form_key"]:
            warnings.append(Problem(
                vi("Bước chưa có biểu mẫu (formKey): dùng biểu mẫu mặc định (ghi chú, giấy tờ; kết quả tiếp nhận).")
                if task.get("milestone") == "reception" else
                vi("Bước chưa có biểu mẫu (formKey): dùng biểu mẫu mặc định (ghi chú, giấy tờ)."),
                task["id"], task["line"], code="builtin_form").as_dict())
        elif task["form_key"] not in known:
            warnings.append(Problem(vi("Biểu mẫu '%(form_key)s' không có trong thư viện biểu mẫu: dùng biểu mẫu "
                                       "mặc định cho đến khi chọn biểu mẫu khác.", form_key=task["form_key"]),
                                    task["id"], task["line"],
                                    code="builtin_form").as_dict())
    return warnings


def upload(session: Session, actor: Actor, data: bytes, *, code: str, scope: str, name: str | None = None,
           name_en: str | None = None, field: str | None = None, deadline_days=None,
           deadline_kind: str = "working", fee_rule: dict | None = None, lane_map: dict | None = None,
           process_id: str | None = None, max_bytes: int, dmn_files=(),
           refuse_duplicate: bool = True) -> ProcedureVersion:
    """Store a new draft version; nothing is stored if the diagram cannot be stored safely.
    `process_id` picks the main process of a file that holds several; `dmn_files`: the decision
    tables its business rule tasks call, [(file name, bytes)]. A new version of a known procedure
    keeps its legal deadline and fee when none is given; the very diagram of one of its versions
    in the scope is refused (409) unless `refuse_duplicate` is off (copies made on purpose)."""
    scope = scope or ""
    access.may_write_procedure(actor, scope)
    previous = _previous(session, code, scope) if isinstance(code, str) and CODE_RE.match(code or "") else None
    if previous is not None and deadline_days in (None, "") and deadline_kind in ("working", "calendar"):
        deadline_days, deadline_kind = previous.deadline_days, previous.deadline_kind  # issue 22: not asked again
    meta = validate_meta(session, code, scope, deadline_days, deadline_kind)
    try:
        decisions = engine.decisions.read_documents(dmn_files or (), max_bytes)
        checked = check_diagram(data, max_bytes, (process_id or "").strip() or None, decisions)
    except DiagramRejected as exc:
        raise diagram_error(exc) from None
    if previous is not None and fee_rule is None:  # issue 22: the fee is kept too (a table only if sent again)
        kept = dict(previous.fee_rule or {})
        if kept.get("kind") != "decision" or kept.get("decision") in decisions:
            fee_rule = kept or None
    if (fee_rule or {}).get("kind") == "decision":
        fees.check_rule(fee_rule, decisions)
    connector_problems = connectors.diagram_problems(session, checked.xml, scope)
    if connector_problems:  # a service task naming no connector of this scope, or missing an input
        raise diagram_error(DiagramRejected(connector_problems))
    digest = content_hash(checked.xml)
    duplicate = _duplicate_of(session, code, scope, digest) if refuse_duplicate else None
    if duplicate is not None:
        raise Conflict(vi("Sơ đồ giống hệt phiên bản %(version)s của thủ tục %(code)s (%(scope)s): không tạo "
                          "bản nháp trùng.", version=duplicate.version, code=code, scope=scope),
                       code="duplicate", fields={"file": vi("trùng phiên bản %(version)s", version=duplicate.version)})
    procedure = session.get(Procedure, code)
    if procedure is None:
        if not name:
            raise Invalid(vi("Thủ tục mới cần tên."), fields={"name": vi("bắt buộc với mã thủ tục mới")})
        procedure = Procedure(code=code, name=name, name_en=name_en, field=field)
        session.add(procedure)
    lane_map = _checked_lane_map(checked.model, lane_map or {})
    number = (session.scalar(select(func.max(ProcedureVersion.version))
                             .where(ProcedureVersion.procedure_code == code)) or 0) + 1
    version = ProcedureVersion(
        procedure=procedure, procedure_code=code, version=number, scope=scope, state=DRAFT,
        dialect=checked.model["dialect"], process_id=checked.model["process_id"], bpmn_xml=checked.xml,
        model=checked.model, lane_map=lane_map, warnings=draft_warnings(session, checked.model, lane_map),
        fee_rule=fee_rule or {"kind": "free"}, decisions=decisions, created_by=actor.name, content_hash=digest,
        **meta,
    )
    # issue 19: a new diagram of a known procedure keeps the receipt's list of documents in force
    in_force = session.get(ProcedureInForce, (code, scope)) or session.get(ProcedureInForce, (code, NATIONAL))
    version.documents = [dict(d) for d in in_force.version.documents or []] if in_force else []
    session.add(version)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(vi("Phiên bản vừa được tạo đồng thời; hãy thử lại.")) from None
    audit.record(session, "procedure.upload", actor.name, note=f"{code} v{number} ({scope})")
    return version


def _checked_lane_map(model: dict, mapping: dict) -> dict:
    """{lane id | step id | a step's group name | "_default": routing path}."""
    if not isinstance(mapping, dict):
        raise Invalid(vi("Bảng gán làn phải là đối tượng {lane id: đường định tuyến}."),
                      fields={"lanes": vi("phải là đối tượng JSON")})
    keys = mapping_keys(model)
    fields = {}
    for lane_id, path in mapping.items():
        if lane_id not in keys:
            fields[lane_id] = vi("không có làn, bước hay nhóm này trong sơ đồ (hoặc dùng _default)")
        elif not isinstance(path, str) or parse_route(path) is None:
            fields[lane_id] = vi("đường định tuyến không hợp lệ: commune/<role> hoặc "
                                 "province/<service-center|department:CODE>/<role>")
    if fields:
        raise Invalid(vi("Bảng gán làn không hợp lệ."), fields=fields)
    return dict(mapping)


def get_version(session: Session, code: str, number: int) -> ProcedureVersion:
    version = session.scalar(select(ProcedureVersion).where(
        ProcedureVersion.procedure_code == code, ProcedureVersion.version == number))
    if version is None:
        raise NotFound(vi("Không có thủ tục %(code)s phiên bản %(version)s.", code=code, version=number))
    return version


def set_supplement_window(session: Session, actor: Actor, code: str, number: int, days) -> ProcedureVersion:
    """Issue 18: the working days after reception within which a supplement may be requested
    during processing; None or "" turns the window off (the default: no general rule sets one).
    Authorised like the draft's other edits."""
    version = get_version(session, code, number)
    access.may_write_procedure(actor, version.scope)
    if version.state != DRAFT:
        raise Conflict(vi("Phiên bản đã công bố không thể sửa; hãy tạo bản nháp mới."), code="immutable")
    value = None
    if days not in (None, ""):
        try:
            value = int(days)
            if isinstance(days, bool) or value < 1 or value > 365:
                raise ValueError
        except (TypeError, ValueError):
            raise Invalid(vi("Số ngày làm việc được yêu cầu bổ sung phải là số nguyên từ 1 đến 365, hoặc để trống."),
                          fields={"supplement_window_days": vi("số nguyên 1–365 hoặc để trống")}) from None
    before, version.supplement_window_days = version.supplement_window_days, value
    audit.record(session, "procedure.supplement_window", actor.name, note=f"{code} v{number}",
                 data={"before": before, "after": value})
    session.flush()
    return version


def set_lanes(session: Session, actor: Actor, code: str, number: int, mapping: dict) -> ProcedureVersion:
    version = get_version(session, code, number)
    access.may_write_procedure(actor, version.scope)
    if version.state != DRAFT:
        raise Conflict(vi("Phiên bản đã công bố không thể sửa; hãy tạo bản nháp mới."), code="immutable")
    version.lane_map = {**version.lane_map, **_checked_lane_map(version.model, mapping)}
    version.warnings = draft_warnings(session, version.model, version.lane_map)
    audit.record(session, "procedure.lanes", actor.name, note=f"{code} v{number}", data=mapping)
    session.flush()
    return version


def _provinces_lacking(session: Session, paths: list[str], scope: str) -> dict[str, list[str]]:
    """For each province in scope, the lanes that find no unit for some of its communes."""
    provinces = ([scope] if scope != NATIONAL else
                 session.scalars(select(Unit.code).where(Unit.level == "province").order_by(Unit.code)).all())
    lacking: dict[str, list[str]] = {}
    for province in provinces:
        for path in paths:
            if unresolved_communes(session, path, province):
                lacking.setdefault(province, []).append(path)
    return lacking


def publish(session: Session, actor: Actor, code: str, number: int) -> tuple[ProcedureVersion, list[dict]]:
    """Publish a draft (after checks and a dry run) or roll back to an earlier published version."""
    version = get_version(session, code, number)
    access.may_write_procedure(actor, version.scope)
    notes: list[dict] = []
    if version.state == DRAFT:
        problems, notes = _publish_problems(session, version)
        if problems:
            raise Rejected(vi("Chưa thể công bố phiên bản này."), problems=problems, code="cannot_publish")
        version.state = PUBLISHED
        version.published_by = actor.name
        version.published_at = utcnow()
        action = "procedure.publish"
    elif version.state == PUBLISHED:
        action = "procedure.rollback"
    else:
        raise Conflict(vi("Phiên bản đã ngừng áp dụng."), code="retired")
    link = session.get(ProcedureInForce, (code, version.scope))
    if link is None:
        session.add(ProcedureInForce(procedure_code=code, scope=version.scope, version_id=version.id, since=utcnow()))
    else:
        if link.version_id != version.id:
            schedules.stop(session, link.version_id)  # the version it replaces opens no more dossiers
        link.version_id, link.since = version.id, utcnow()
    session.flush()
    schedules.queue_next(session, version)  # a scheduled version's next tick (none for the others)
    audit.record(session, action, actor.name, note=f"{code} v{number} ({version.scope})")
    session.flush()
    return version, notes


def _item_problems(session: Session, model: dict, paths: dict, forms_of: dict, province: str | None) -> list[dict]:
    """A path with `{item}` (each instance of a multi-instance routed by its input item): every
    value known at publish must find a unit in the province: a literal list a script assigns to
    the collection, the choices (`enum`) of a form field of that name. Other values are checked
    when the instance opens (an incident naming the value); so are all of a national template's."""
    problems = []
    for task in model["user_tasks"]:
        path, loop = paths.get(task["id"]) or "", task.get("loop") or {}
        if ITEM not in path:
            continue
        if loop.get("kind") != "multi":
            problems.append(Problem(vi("Tuyến '%(path)s' dùng %(item)s nhưng bước không phải tác vụ đa thể hiện.",
                                       path=path, item=ITEM),
                                    task["id"], task.get("line")).as_dict())
            continue
        if province is None:
            continue
        known = list(loop.get("items") or [])
        for form in forms_of.values():
            field = ((form or {}).get("schema", {}).get("properties") or {}).get(loop.get("collection") or "") or {}
            known += (field.get("items") or {}).get("enum") or []
        for value in dict.fromkeys(v for v in known if isinstance(v, (str, int))):
            concrete = path.replace(ITEM, str(value))
            if parse_route(concrete) is None or unresolved_communes(session, concrete, province):
                problems.append(Problem(vi("Tuyến '%(path)s' với '%(value)s': không có đơn vị '%(value)s' ở tỉnh "
                                           "%(province)s.", path=path, value=value, province=province),
                                        task["id"], task.get("line")).as_dict())
    return problems


def _publish_problems(session: Session, version: ProcedureVersion) -> tuple[list[dict], list[dict]]:
    model = version.model
    problems = [p.as_dict() for p in lane_warnings(model, version.lane_map)]
    problems += [p.as_dict() for p in process_warnings(model) if p.code == "not_executable"]
    problems += schedules.publish_problems(version, utcnow())  # a timer start needs the schedule marked
    keys = {t["form_key"] for t in model["user_tasks"] if t["form_key"]}
    library = forms.library(session, keys)
    notes: list[dict] = []
    if problems:
        return problems, notes
    paths = step_paths(model, version.lane_map)
    used = sorted({p for p in paths.values() if p and ITEM not in p})
    lacking = _provinces_lacking(session, used, version.scope)
    problems += _item_problems(session, model, paths, step_forms(model, library),
                               None if version.scope == NATIONAL else version.scope)
    if version.scope != NATIONAL and lacking:
        for path in lacking[version.scope]:
            problems.append(Problem(vi("Làn '%(path)s' không tìm được đơn vị cho mọi xã/phường của tỉnh %(province)s.",
                                       path=path, province=version.scope))
                            .as_dict())
    elif lacking:
        notes = [{"province": p, "lanes": lanes} for p, lanes in lacking.items()]
    if problems:
        return problems, notes
    calls, pins, call_problems = _library_calls(session, version)
    if call_problems:
        return call_problems, notes
    forms_of = step_forms(model, library)
    if pins:
        _steps, _paths, called_forms = called_steps(pins)
        forms_of = {**called_forms, **forms_of}
    try:
        bundle = bundle_for(version.id, version.bpmn_xml, version.dialect, version.process_id, called_specs(pins),
                            decision_docs(version))
    except DiagramRejected as exc:
        return [p.as_dict() for p in exc.problems], notes
    problems += [p.as_dict() for p in connectors.diagram_problems(session, version.bpmn_xml, version.scope)]
    if problems:
        return problems, notes
    problems += [p.as_dict() for p in dry_run(bundle, model, forms_of, service_outputs=connectors.sample_outputs(
        session, version.bpmn_xml, version.scope))]
    if not problems:
        version.forms = library  # frozen copy: later library edits do not change this version
        for call, callee in calls:  # the called versions in force now are this version's, for good
            session.add(ProcedureCall(caller_version_id=version.id, element_id=call["element_id"],
                                      callee_code=call["code"], callee_version_id=callee.id))
    return problems, notes


def _library_calls(session: Session, version: ProcedureVersion):
    """The procedures of the library a draft calls (`calledElement="procedure:<code>"`), resolved to
    the versions in force for its scope now: ([(call, version)], every version pinned, directly or
    through them, as [(code, version)], problems). Refused, at the call activity with its line: a
    procedure with no version in force, a cycle of calls (itself, or a procedure that calls it back),
    another dialect, two versions of one procedure, a step id the caller also uses."""
    calls, problems = [], []
    province = version.scope
    own_steps = {t["id"] for t in version.model["user_tasks"]}
    pinned: dict[str, ProcedureVersion] = {}
    for call in version.model.get("library_calls") or []:
        def problem(message: str, code: str = "call_target_missing") -> None:
            problems.append(Problem(message, call["element_id"], call["line"], code=code).as_dict())
        if call["code"] == version.procedure_code:
            problem(vi("Vòng gọi quy trình con không có điểm dừng: thủ tục %(code)s gọi chính nó.", code=call["code"]),
                    "call_cycle")
            continue
        callee = in_force(session, call["code"], province)
        if callee is None:
            where = vi("cấp quốc gia") if province == NATIONAL else vi("tỉnh %(province)s", province=province)
            problem(vi("Hoạt động gọi '%(element_id)s' gọi thủ tục '%(code)s', nhưng thủ tục này không có hoặc chưa "
                       "có phiên bản đang áp dụng (%(where)s).", element_id=call["element_id"], code=call["code"],
                       where=where))
            continue
        chain = [(call["code"], callee)] + pinned_calls(session, callee.id)
        codes = [code for code, _ in chain]
        if version.procedure_code in codes:
            path = " → ".join([version.procedure_code] + codes[:codes.index(version.procedure_code) + 1])
            problem(vi("Vòng gọi quy trình con không có điểm dừng: %(path)s.", path=path), "call_cycle")
            continue
        if callee.dialect != version.dialect:
            problem(vi("Thủ tục được gọi '%(code)s' vẽ theo kiểu %(callee_dialect)s, thủ tục gọi theo kiểu "
                       "%(caller_dialect)s: hai sơ đồ phải cùng kiểu.", code=call["code"],
                       callee_dialect=callee.dialect, caller_dialect=version.dialect), "call_dialect")
            continue
        for code, v in chain:
            if pinned.setdefault(code, v).id != v.id:
                problem(vi("Thủ tục '%(code)s' được gọi ở hai phiên bản khác nhau (v%(first)s và v%(second)s): "
                           "hãy công bố lại thủ tục gọi nó trước.", code=code, first=pinned[code].version,
                           second=v.version), "call_versions")
            clash = own_steps & {t["id"] for t in v.model["user_tasks"]}
            if clash:
                problem(vi("Bước %(steps)s của thủ tục được gọi '%(code)s' trùng mã với bước của thủ tục "
                           "gọi: hãy đổi mã bước.", steps=", ".join(sorted(clash)), code=code), "call_clash")
        calls.append((call, callee))
    return calls, list(pinned.items()), problems


def library_pins(session: Session, version: ProcedureVersion) -> list[tuple[str, ProcedureVersion]]:
    """The procedures of the library a version calls, as it runs them: pinned at its publish, or for
    a draft those in force now (what its publish would pin; unresolvable calls left out)."""
    if not (version.model or {}).get("library_calls"):
        return []
    if version.state != DRAFT:
        return pinned_calls(session, version.id)
    return _library_calls(session, version)[1]


def callers_of(version: ProcedureVersion) -> list[dict]:
    """`called_by` for the procedure of a version (what its page shows)."""
    return called_by(object_session(version), version.procedure_code)


def called_by(session: Session, code: str) -> list[dict]:
    """The versions that call procedure `code` (`procedure:<code>`): what a designer must know
    before publishing a new version of a sub-procedure. The published ones (`"state": "published"`),
    each with the version of `code` it pinned at its publish (callers keep theirs until they are
    published again), then the drafts (`"state": "draft"`), each with the version its publish
    would pin now (the one in force for its scope; None when none is)."""
    rows = session.execute(
        select(ProcedureCall, ProcedureVersion).join(ProcedureVersion, ProcedureVersion.id == ProcedureCall.caller_version_id)
        .where(ProcedureCall.callee_code == code, ProcedureVersion.state == PUBLISHED)
        .order_by(ProcedureVersion.procedure_code, ProcedureVersion.version, ProcedureCall.element_id)).all()
    pinned = {v.id: v.version for v in session.scalars(select(ProcedureVersion).where(
        ProcedureVersion.id.in_({c.callee_version_id for c, _ in rows}))).all()} if rows else {}
    callers = [{"code": v.procedure_code, "version": v.version, "scope": v.scope, "element_id": c.element_id,
                "calls_version": pinned.get(c.callee_version_id), "state": PUBLISHED} for c, v in rows]
    # A draft's calls are in its model only (pinned at its publish): the text of the model narrows
    # the drafts read, the model's own `library_calls` decides.
    drafts = session.scalars(select(ProcedureVersion).where(
        ProcedureVersion.state == DRAFT, cast(ProcedureVersion.model, Text).contains(code, autoescape=True))
        .order_by(ProcedureVersion.procedure_code, ProcedureVersion.version)).all()
    would_pin: dict[str, int | None] = {}
    for draft in drafts:
        for call in sorted((c for c in (draft.model or {}).get("library_calls") or [] if c.get("code") == code),
                           key=lambda c: c["element_id"] or ""):
            if draft.scope not in would_pin:
                callee = in_force(session, code, draft.scope)
                would_pin[draft.scope] = callee.version if callee is not None else None
            callers.append({"code": draft.procedure_code, "version": draft.version, "scope": draft.scope,
                            "element_id": call["element_id"], "calls_version": would_pin[draft.scope],
                            "state": DRAFT})
    return callers


def mark_executable(session: Session, actor: Actor, code: str, number: int) -> ProcedureVersion:
    """A draft whose main process is marked isExecutable="false" (as most reference diagrams are):
    the designer confirms it may run; the XML changes, nothing else."""
    version = get_version(session, code, number)
    access.may_write_procedure(actor, version.scope)
    if version.state != DRAFT:
        raise Conflict(vi("Phiên bản đã công bố không thể sửa; hãy tạo bản nháp mới."), code="immutable")
    if version.model.get("executable", True):
        return version
    version.bpmn_xml = etree.tostring(engine.mark_executable(parse_trusted(version.bpmn_xml), version.process_id),
                                      encoding="unicode")
    version.model = {**version.model, "executable": True}
    version.warnings = draft_warnings(session, version.model, version.lane_map)
    audit.record(session, "procedure.executable", actor.name, note=f"{code} v{number}")
    session.flush()
    return version


def versions(session: Session, code: str) -> list[tuple[ProcedureVersion, bool]]:
    rows = session.scalars(select(ProcedureVersion).where(ProcedureVersion.procedure_code == code)
                           .order_by(ProcedureVersion.version)).all()
    if not rows:
        raise NotFound(vi("Không có thủ tục %(code)s.", code=code))
    in_force = set(session.scalars(select(ProcedureInForce.version_id)
                                   .where(ProcedureInForce.procedure_code == code)).all())
    return [(v, v.id in in_force) for v in rows]


def readable_versions(session: Session, actor: Actor, code: str) -> list[tuple[ProcedureVersion, bool, bool]]:
    """The API's list of a procedure's versions for this caller: (version, in force, with its
    internals) — drafts only where `access.sees_version_internals` allows; 404 when none is left."""
    rows = [(v, f, access.sees_version_internals(actor, v.scope)) for v, f in versions(session, code)]
    rows = [(v, f, full) for v, f, full in rows if full or v.state != DRAFT]
    if not rows:
        raise NotFound(vi("Không có thủ tục %(code)s.", code=code))
    return rows


def readable_version(session: Session, actor: Actor, code: str, number: int) -> tuple[ProcedureVersion, bool]:
    """One version for this caller and whether it reads its internals; a draft it may not read
    answers 404, as a version that does not exist (`access.sees_version_internals`)."""
    version = get_version(session, code, number)
    full = access.sees_version_internals(actor, version.scope)
    if not full and version.state == DRAFT:
        raise NotFound(vi("Không có thủ tục %(code)s phiên bản %(version)s.", code=code, version=number))
    return version, full


def in_force(session: Session, code: str, province_code: str) -> ProcedureVersion | None:
    """The province variant if one is published, else the national template; an earlier code
    of a renumbered procedure (`ProcedureAlias`) names the procedure it became."""
    alias = session.get(ProcedureAlias, code) if isinstance(code, str) and len(code) <= 40 else None
    code = alias.procedure_code if alias is not None else code
    links = {link.scope: link for link in session.scalars(select(ProcedureInForce).where(
        ProcedureInForce.procedure_code == code, ProcedureInForce.scope.in_([province_code, NATIONAL]))).all()}
    link = links.get(province_code) or links.get(NATIONAL)
    return link.version if link else None


def offered(session: Session, province_code: str) -> list[ProcedureVersion]:
    links = session.scalars(select(ProcedureInForce).where(
        ProcedureInForce.scope.in_([province_code, NATIONAL]))).all()
    chosen: dict[str, ProcedureInForce] = {}
    for link in links:
        if link.procedure_code not in chosen or link.scope == province_code:
            chosen[link.procedure_code] = link
    return [chosen[c].version for c in sorted(chosen)]


def waiting_for(version: ProcedureVersion) -> list[str]:
    """The names of the messages a procedure version's diagram waits for (computed at upload)."""
    return list((version.model or {}).get("messages") or [])


def step_routes(version: ProcedureVersion) -> dict[str, str | None]:
    """Each human step's routing path in a version (None: unrouted, refused at publish)."""
    return step_paths(version.model, version.lane_map)


def procedure_in_force(session: Session, code: str, province_code: str | None = None) -> ProcedureVersion:
    """The version in force for a province (its variant, else the national template; without a
    province, the national template): what integrators read to learn which messages to send.
    404 when the procedure does not exist or no version is in force there."""
    procedure = session.get(Procedure, code) if isinstance(code, str) and len(code) <= 40 else None
    if procedure is None and isinstance(code, str) and len(code) <= 40 and session.get(ProcedureAlias, code):
        procedure = session.get(Procedure, session.get(ProcedureAlias, code).procedure_code)  # an earlier code
    if procedure is None:
        raise NotFound(vi("Không có thủ tục %(code)s.", code=code))
    version = in_force(session, code, province_code or NATIONAL)
    if version is None:
        where = vi("tỉnh %(province)s", province=province_code) if province_code else vi("cấp quốc gia")
        raise NotFound(vi("Thủ tục %(code)s chưa có phiên bản đang áp dụng (%(where)s).", code=code, where=where),
                       code="not_in_force")
    return version


# -- issue 22: safety nets (delete a draft, what a publish or a withdrawal changes) ------------

def running_dossiers(session: Session, version_id: int, province: str | None = None) -> int:
    """How many unfinished dossiers run on a version (they keep it to their end), in a province
    when one is given."""
    from ..models import Dossier

    query = select(func.count()).select_from(Dossier).where(
        Dossier.procedure_version_id == version_id, Dossier.finished_at.is_(None))
    if province and province != NATIONAL:
        query = query.where(Dossier.province_code == province)
    return session.scalar(query) or 0


def running_dossier_codes(session: Session, version_id: int, province: str | None = None,
                          limit: int = 100) -> list[str]:
    """The codes of the first `limit` unfinished dossiers `running_dossiers` counts, oldest first."""
    from ..models import Dossier

    query = select(Dossier.code).where(Dossier.procedure_version_id == version_id, Dossier.finished_at.is_(None))
    if province and province != NATIONAL:
        query = query.where(Dossier.province_code == province)
    return list(session.scalars(query.order_by(Dossier.id).limit(limit)))


def delete_draft(session: Session, actor: Actor, code: str, number: int) -> None:
    """Remove a draft nobody runs; a published version is history dossiers point to (409)."""
    version = get_version(session, code, number)
    access.may_write_procedure(actor, version.scope)
    if version.state != DRAFT:
        raise Conflict(vi("Chỉ xóa được bản nháp; phiên bản %(version)s đã công bố.", version=number),
                       code="not_a_draft")
    session.execute(ProcedureCall.__table__.delete().where(ProcedureCall.caller_version_id == version.id))
    schedules.stop(session, version.id)
    session.delete(version)
    session.flush()
    audit.record(session, "procedure.delete_draft", actor.name, note=f"{code} v{number} ({version.scope})")


def publish_preview(session: Session, actor: Actor, code: str, number: int) -> dict:
    """What publishing (or restoring) a version changes, for the confirmation step: the version it
    replaces in its scope and how many running dossiers keep that one."""
    version = get_version(session, code, number)
    access.may_write_procedure(actor, version.scope)
    link = session.get(ProcedureInForce, (code, version.scope))
    if link is None and version.scope != NATIONAL:  # a province's first variant replaces the national template there
        link = session.get(ProcedureInForce, (code, NATIONAL))
    replaced = link.version if link is not None and link.version_id != version.id else None
    return {"version": version, "replaces": replaced,
            "running": running_dossiers(session, replaced.id, version.scope) if replaced is not None else 0}


def withdraw_preview(session: Session, actor: Actor, code: str, province: str) -> dict:
    """What withdrawing a province's variant changes: the variant in force (running dossiers keep
    it) and the national version new dossiers will use."""
    access.may_write_procedure(actor, province)
    if province == NATIONAL:
        raise Invalid(vi("Chỉ rút được biến thể của tỉnh."), fields={"province": vi("mã tỉnh")})
    link = session.get(ProcedureInForce, (code, province))
    if link is None:
        raise NotFound(vi("Tỉnh %(province)s không có biến thể đang áp dụng của thủ tục %(code)s.",
                          province=province, code=code), code="no_variant")
    national = session.get(ProcedureInForce, (code, NATIONAL))
    if national is None:
        raise Conflict(vi("Thủ tục %(code)s chưa có mẫu quốc gia đang áp dụng để quay về.", code=code),
                       code="no_national")
    return {"variant": link.version, "national": national.version,
            "running": running_dossiers(session, link.version_id, province),
            "running_codes": running_dossier_codes(session, link.version_id, province)}


def withdraw_variant(session: Session, actor: Actor, code: str, province: str) -> dict:
    """The province goes back to the national template: new dossiers use the national version,
    running ones keep the variant version they started on (it stays published, not in force)."""
    preview = withdraw_preview(session, actor, code, province)
    variant = preview["variant"]
    schedules.stop(session, variant.id)  # the variant opens no more dossiers
    session.delete(session.get(ProcedureInForce, (code, province)))
    session.flush()
    audit.record(session, "procedure.withdraw_variant", actor.name,
                 note=f"{code} ({province}) v{variant.version} -> v{preview['national'].version} (national)",
                 data={"variant": variant.version, "national": preview["national"].version,
                       "running": preview["running"]})
    return preview


def upload_defaults(session: Session, code: str, scope: str) -> dict | None:
    """Issue 22: what the upload page prefills for a new version of a known procedure (its name,
    legal deadline and fee are kept, not asked again); None for a code not known."""
    procedure = session.get(Procedure, code) if isinstance(code, str) and len(code) <= 40 else None
    if procedure is None:
        return None
    previous = _previous(session, code, scope or NATIONAL)
    form = {"code": code, "name": procedure.name, "scope": scope}
    if previous is not None:
        form.update(deadline_days=str(previous.deadline_days or ""), deadline_kind=previous.deadline_kind)
    return {"procedure": procedure, "version": previous, "form": form,
            "fee_rule": dict(previous.fee_rule or {}) if previous is not None else None}
