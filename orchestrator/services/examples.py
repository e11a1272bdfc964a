"""Seed data for `flask load-examples`: units, calendar, forms, shipped procedures, demo users."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..data.units import iter_units
from ..text import fold, nfc
from ..models import CalendarDay, ProcedureAlias, ProcedureInForce, ProcedureVersion, Unit, UnitServiceArea, User
from . import periods, procedure_documents, procedures
from .auth import Actor, Assignment, create_user
from .calendar import shipped_days

SYSTEM = Actor("user", "system", assignments=(Assignment("designer", "VN", "national", None),))

# Two communes per example province, chosen in different branch areas.
DEMO_COMMUNES = {"01": ["00070", "00454"], "19": ["05443", "01843"]}


def load_units(session: Session) -> int:
    """Insert the official units once; later edits (merges, validity) are the administrators'."""
    if session.scalar(select(func.count()).select_from(Unit)):
        return 0
    units, areas = [], []
    for rec in iter_units():
        # a bulk insert skips the model's events: fold here what `Unit` folds on write
        units.append({"code": rec.code, "name": nfc(rec.name), "name_folded": fold(rec.name),
                      "name_en": rec.name_en, "level": rec.level,
                      "parent_code": rec.parent_code, "province_code": rec.province_code, "dept_code": rec.dept_code})
        areas += [{"unit_code": rec.code, "commune_code": c} for c in rec.serves]
    session.execute(Unit.__table__.insert(), units)
    if areas:
        session.execute(UnitServiceArea.__table__.insert(), areas)
    return len(units)


def load_calendar(session: Session) -> int:
    """Declare country-wide each shipped day not declared yet (so a later release's decisions
    reach an existing database), with its note, document number and `confirmed` flag."""
    known = set(session.scalars(select(CalendarDay.day).where(CalendarDay.scope == "VN")))
    rows = [CalendarDay(day=d["day"], scope="VN", kind=d["kind"], note=d["note"], confirmed=d["confirmed"])
            for d in shipped_days() if d["day"] not in known]
    session.add_all(rows)
    return len(rows)


def load_procedures(session: Session, library: Path, max_bytes: int) -> list[str]:
    """Upload, map and publish each catalogue entry that is not in force yet (with its period
    rules, `periods`); record its earlier codes (`aliases`) once."""
    done = []
    documents = procedure_documents.shipped(library)  # thành phần hồ sơ, per code (issue 19)
    for entry in json.loads((library / "catalog.json").read_text(encoding="utf-8")):
        link = session.get(ProcedureInForce, (entry["code"], entry["scope"]))
        if link is not None:
            if not link.version.documents and documents.get(entry["code"]):  # loaded before the lists shipped
                link.version.documents = documents[entry["code"]]
            _add_aliases(session, entry)
            continue
        version = procedures.upload(
            session, SYSTEM, (library / entry["file"]).read_bytes(), code=entry["code"], scope=entry["scope"],
            name=entry["name"], name_en=entry.get("name_en"), field=entry.get("field"),
            deadline_days=entry.get("deadline_days"), deadline_kind=entry.get("deadline_kind", "working"),
            fee_rule=entry.get("fee"), lane_map=entry.get("lanes"), max_bytes=max_bytes,
            dmn_files=[(Path(name).name, (library / name).read_bytes()) for name in entry.get("dmn", ())],
        )
        version.deadline_rules = periods.check_rules(entry.get("deadline_rules"))
        version.documents = documents.get(entry["code"], [])
        _add_aliases(session, entry)
        procedures.publish(session, SYSTEM, version.procedure_code, version.version)
        done.append(f"{entry['code']} ({entry['scope']}) v{version.version}")
    return done


def _add_aliases(session: Session, entry: dict) -> None:
    """An earlier code of a renumbered procedure: dossiers started with it start this one."""
    for alias in entry.get("aliases", ()):
        if session.get(ProcedureAlias, alias) is None:
            session.add(ProcedureAlias(alias=alias, procedure_code=entry["code"]))
            session.flush()


def demo_accounts() -> list[tuple[str, list[tuple[str, str]], str]]:
    """(username, [(role, unit)], description) for every demo login."""
    accounts = [("designer.VN", [("designer", "VN")], "thiết kế mẫu quốc gia"),
                ("admin.VN", [("admin", "VN")], "quản trị toàn quốc"),
                ("supervisor.VN", [("supervisor", "VN")], "giám sát toàn quốc")]
    for province, communes in DEMO_COMMUNES.items():
        accounts += [(f"designer.{province}", [("designer", province)], f"thiết kế quy trình tỉnh {province}"),
                     (f"admin.{province}", [("admin", province)], f"quản trị tỉnh {province}"),
                     (f"supervisor.{province}", [("supervisor", province)], f"giám sát tỉnh {province}"),
                     (f"reception.{province}.TTPVHCC", [("reception", f"{province}.TTPVHCC")],
                      "tiếp nhận tại Trung tâm PVHCC")]
        # the departments the Hà Nội business-household variant consults (multi-instance `{item}`)
        accounts += [(f"specialist.{province}.{dept}", [("specialist", f"{province}.{dept}")],
                      f"chuyên viên {dept} tỉnh {province}") for dept in ("SCT", "STC")]
        for commune in communes:
            for role in ("reception", "specialist", "leader"):
                accounts.append((f"{role}.{commune}", [(role, commune)], f"{role} xã/phường {commune}"))
    return accounts


LEADER_NAMES = ("Nguyễn Đức Thắng", "Trần Thị Bình", "Lê Minh Cường", "Phạm Thu Dung", "Hoàng Văn Hải",
                "Vũ Thị Hạnh", "Đặng Quốc Khánh", "Bùi Thị Lan")


def leader_profile(session: Session, unit_code: str, n: int) -> tuple[str, str]:
    """A demo leader's full name and title (chức vụ), as the apology letter and the stop notice
    are signed: the chairperson of a commune's People's Committee, a branch's director."""
    unit = session.get(Unit, unit_code)
    name = (unit.name if unit is not None else "") or ""
    if (unit is not None and unit.dept_code == "VPDKDD") or name.startswith("Chi nhánh"):
        title = "Giám đốc Chi nhánh Văn phòng đăng ký đất đai"
    elif name.startswith("Phường"):
        title = "Chủ tịch UBND phường"
    elif name.startswith("Xã"):
        title = "Chủ tịch UBND xã"
    else:
        title = "Thủ trưởng đơn vị"
    return LEADER_NAMES[n % len(LEADER_NAMES)], title


OFFICER_NAMES = ("Nguyễn Thị Mai", "Trần Văn Nam", "Lê Thị Thu Hà", "Phạm Quang Huy", "Hoàng Thị Yến",
                 "Vũ Đức Long", "Đỗ Thị Ngọc", "Ngô Văn Tùng", "Dương Thị Hương", "Bùi Minh Tuấn",
                 "Lý Thị Kim Oanh", "Trịnh Văn Phúc", "Mai Thị Quỳnh", "Đinh Công Sơn", "Tạ Thị Thảo",
                 "Phan Văn Trung", "Lương Thị Vân", "Cao Xuân Vinh", "Hà Thị Xuân", "Kiều Văn Bảo")


def officer_profile(session: Session, role: str, unit_code: str, n: int) -> tuple[str, str]:
    """A demo officer's full name and title, as the receipt, the guidance and refusal forms and
    the control slip name them (issue 19): never the account's description."""
    unit = session.get(Unit, unit_code)
    if unit is not None and unit.dept_code == "VPDKDD":
        title = "Viên chức Chi nhánh Văn phòng đăng ký đất đai"
    elif unit_code.endswith("TTPVHCC"):
        title = "Viên chức Trung tâm Phục vụ hành chính công"
    elif role == "reception":
        title = "Công chức Bộ phận tiếp nhận và trả kết quả"
    else:
        title = "Chuyên viên" if unit is None or unit.level != "commune" else "Công chức chuyên môn"
    return OFFICER_NAMES[n % len(OFFICER_NAMES)], title


def load_demo_users(session: Session, password: str) -> list[tuple[str, str]]:
    created = []
    leaders = officers = 0
    for username, pairs, description in demo_accounts():
        if session.scalar(select(User.id).where(User.username == username)):
            continue
        user = create_user(session, username, password, pairs, full_name=description)
        user.demo = True  # reported by `flask check` and /readyz while on the demo password
        if pairs[0][0] == "leader":
            user.full_name, user.title = leader_profile(session, pairs[0][1], leaders)
            leaders += 1
        elif pairs[0][0] in ("reception", "specialist"):
            user.full_name, user.title = officer_profile(session, *pairs[0], officers)
            officers += 1
        created.append((username, description))
    for province, communes in DEMO_COMMUNES.items():
        for commune in communes:  # the land registration branch serving each demo commune
            branch = session.scalar(select(UnitServiceArea.unit_code).join(Unit, Unit.code == UnitServiceArea.unit_code)
                                    .where(UnitServiceArea.commune_code == commune, Unit.dept_code == "VPDKDD"))
            if branch:
                for role in ("specialist", "leader"):
                    username = f"{role}.{branch}"
                    if not session.scalar(select(User.id).where(User.username == username)):
                        user = create_user(session, username, password, [(role, branch)],
                                           full_name=f"{role} chi nhánh VPĐKĐĐ {branch}")
                        user.demo = True
                        if role == "leader":
                            user.full_name, user.title = leader_profile(session, branch, leaders)
                            leaders += 1
                        else:
                            user.full_name, user.title = officer_profile(session, role, branch, officers)
                            officers += 1
                        created.append((username, f"{role} {branch}"))
    return created


def latest_versions(session: Session) -> list[ProcedureVersion]:
    return list(session.scalars(select(ProcedureVersion).order_by(ProcedureVersion.procedure_code,
                                                                  ProcedureVersion.version)).all())
