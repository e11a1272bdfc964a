"""Vietnamese search (issue 19): case, diacritics, "đ" and the Unicode form folded the same way on
both databases, for units (API and back office), dossiers (API, visibility kept) and users."""
from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.admin_client import BackOffice

ROOT = Path(__file__).resolve().parents[1]


def nfd(value: str) -> str:
    return unicodedata.normalize("NFD", value)


def unit_codes(api, q: str) -> set[str]:
    r = api.get("/units", "reception.00070", query_string={"q": q, "per_page": 5000})
    assert r.status_code == 200, r.get_json()
    return {u["code"] for u in r.get_json()["items"]}


# ------------------------------------------------------------------------------------ fold()

def test_fold_makes_one_form_of_what_people_type():
    from orchestrator.services.search import fold

    assert fold("Phường Ba Đình") == fold("PHƯỜNG  BA ĐÌNH") == fold(nfd("Phường Ba Đình")) == "phuong ba dinh"
    assert fold("Thành phố Đà Nẵng") == "thanh pho da nang"
    assert fold("Nguyễn Thị Đào") == fold("nguyen\tthi dao") == "nguyen thi dao"
    assert fold(None) == fold("") == ""


# ------------------------------------------------------------------------------------ units

def test_units_are_found_however_the_name_is_typed(app, api):
    ba_dinh = unit_codes(api, "Ba Đình")
    assert {"00004", "01.VPDKDD.CN01", "01.TTPVHCC.CN01"} <= ba_dinh  # Phường Ba Đình and two branches
    for typed in ("ba dinh", "BA ĐÌNH", nfd("Ba Đình"), "  ba   đình "):
        assert unit_codes(api, typed) == ba_dinh, typed
    da_nang = unit_codes(api, "Đà Nẵng")
    assert "48" in da_nang  # Thành phố Đà Nẵng
    assert unit_codes(api, "da nang") == unit_codes(api, nfd("ĐÀ NẴNG")) == da_nang
    assert "01.VPDKDD.CN06" in unit_codes(api, "dong da")  # ... khu vực Đống Đa
    # every word must appear, in any order; a code is still found as such
    assert "00004" in unit_codes(api, "dinh phuong ba") and "00004" not in unit_codes(api, "ba dinh hoan")
    assert unit_codes(api, "00004") == {"00004"}


def test_unit_search_takes_wildcards_literally_and_is_bounded(app, api):
    assert unit_codes(api, "%") == set() and unit_codes(api, "_") == set() and unit_codes(api, "ba%dinh") == set()
    r = api.get("/units", "reception.00070", query_string={"q": " ".join(["ba"] * 11)})
    assert r.status_code == 400 and "q" in r.get_json()["error"]["fields"]


def test_back_office_unit_page_finds_units_typed_without_diacritics(app, client):
    office = BackOffice(client)
    office.login("admin.01")
    page = office.text(office.get("/units", query_string={"q": "ba dinh", "level": "commune"}))
    assert "Phường Ba Đình" in page and "Phường Hoàn Kiếm" not in page
    page = office.text(office.get("/units", query_string={"q": nfd("Đống Đa")}))
    assert "khu vực Đống Đa" in page


def test_back_office_user_search_folds_full_names(app, client):
    office = BackOffice(client)
    office.login("admin.01")
    r = office.post("/users", {"username": "dao.search", "password": "matkhau-dai-123", "full_name": "Đặng Thị Đào",
                               "role": "specialist", "unit_code": "00070"}, referrer="/users")
    assert r.status_code in (302, 303), office.text(r)
    for typed in ("dang thi dao", "ĐẶNG", nfd("Đặng Thị Đào"), "DAO.SEARCH"):
        assert "dao.search" in office.text(office.get("/users", query_string={"q": typed})), typed
    assert "dao.search" not in office.text(office.get("/users", query_string={"q": "dang van dao"}))


# ------------------------------------------------------------------------------------ dossiers

BIRTH_DATA = {"child_full_name": "Trần Minh Khôi", "child_sex": "male", "child_date_of_birth": "2026-09-01",
              "child_place_of_birth": "Bệnh viện Phụ sản Hà Nội", "child_ethnicity": "Kinh",
              "child_nationality": "Việt Nam", "birth_proof_type": "birth_certificate",
              "mother_full_name": "Lê Thị Hoa", "requester_full_name": "Lê Thị Hoa",
              "requester_id_number": "001190012345", "requester_relationship": "mother"}


def start(api, applicant: dict) -> str:
    r = api.post("/dossiers", "reception.00070", json={
        "procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "data": BIRTH_DATA,
        "applicant": applicant})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["code"]


def found(api, q: str, who: str = "reception.00070") -> set[str]:
    r = api.get("/dossiers", who, query_string={"q": q, "limit": 500})
    assert r.status_code == 200, r.get_json()
    return {d["code"] for d in r.get_json()["items"]}


def test_dossiers_are_found_by_the_applicant_however_typed_and_only_by_who_may_see_them(app, api):
    dao = start(api, {"full_name": nfd("Nguyễn Thị Đào"), "id_number": "001190099999", "phone": "0912 345 678"})
    hoa = start(api, {"full_name": "Lê Thị Hoa", "id_number": "001190012345", "phone": "0987654321"})
    for typed in ("nguyen thi dao", "Đào", "NGUYỄN ĐÀO", nfd("Nguyễn Thị Đào"), "Nguyễn Thị Đào",
                  "001190099999", "0912345678", "0912 345 678", dao.lower()):
        assert found(api, typed) == {dao}, typed
    assert found(api, "le thi hoa") == {hoa} and found(api, "thi") == {dao, hoa}
    assert found(api, "nguyen thi hoa") == set()  # every word must match
    # another commune's officer (same province) does not see it, searched or not
    assert found(api, "nguyen thi dao", "reception.00454") == set()
    assert dao not in found(api, "", "reception.00454")


def test_stored_applicant_name_is_composed_when_sent_decomposed(app, api):
    from orchestrator.extensions import db
    from orchestrator.models import Dossier

    code = start(api, {"full_name": nfd("Nguyễn Thị Đào"), "address": nfd("Phường Ba Đình")})
    with app.app_context():
        applicant = db.session.scalar(select(Dossier.applicant).where(Dossier.code == code))
    assert applicant["full_name"] == "Nguyễn Thị Đào" == unicodedata.normalize("NFC", applicant["full_name"])
    assert applicant["address"] == "Phường Ba Đình"


def test_dossier_search_takes_wildcards_literally_and_is_bounded(app, api):
    start(api, {"full_name": "Nguyễn Thị Đào"})
    assert found(api, "") and found(api, "%") == set() and found(api, "_") == set() and found(api, "ng%dao") == set()
    too_long = api.get("/dossiers", "reception.00070", query_string={"q": "a" * 201})
    too_many = api.get("/dossiers", "reception.00070", query_string={"q": " ".join("abcdefghijk")})
    for r in (too_long, too_many):
        assert r.status_code in (400, 422) and "q" in r.get_json()["error"]["fields"], r.get_json()


# ------------------------------------------------------------------------------------ migration

def load_migration():
    path = ROOT / "orchestrator/migrations/versions/a190a1b2c3d4_search_folded_columns.py"
    spec = importlib.util.spec_from_file_location("search_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_backfill_folds_existing_rows(app, api):
    from orchestrator.extensions import db
    from orchestrator.models import Dossier, Unit

    code = start(api, {"full_name": "Nguyễn Thị Đào", "phone": "0912345678"})
    with app.app_context():
        # rows as an older release left them: nothing folded, a name stored decomposed
        db.session.execute(text("UPDATE unit SET name_folded = NULL"))
        db.session.execute(text("UPDATE unit SET name = :n WHERE code = '00004'"), {"n": nfd("Phường Ba Đình")})
        db.session.execute(text("UPDATE dossier SET search_text = NULL"))
        db.session.commit()
        units, dossiers = load_migration().backfill(db.session.connection(), batch=500)
        db.session.commit()
        assert units > 3000 and dossiers >= 1
        assert db.session.scalar(select(Unit.name_folded).where(Unit.code == "00004")) == "phuong ba dinh"
        assert db.session.scalar(select(Unit.name).where(Unit.code == "00004")) == "Phường Ba Đình"
        assert db.session.scalar(select(Unit.name_folded).where(Unit.code == "48")) == "thanh pho da nang"
        assert db.session.scalar(select(db.func.count()).select_from(Unit).where(Unit.name_folded.is_(None))) == 0
        assert "nguyen thi dao" in db.session.scalar(select(Dossier.search_text).where(Dossier.code == code))
    assert found(api, "nguyen thi dao") == {code} and "00004" in unit_codes(api, "ba dinh")


@pytest.mark.postgres
def test_postgresql_has_trigram_indexes(app):
    from orchestrator.extensions import db

    with app.app_context():
        rows = dict(db.session.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
            "('ix_unit_name_folded', 'ix_dossier_search_text')")).all())
    assert set(rows) == {"ix_unit_name_folded", "ix_dossier_search_text"}
    assert all("gin_trgm_ops" in d for d in rows.values()), rows
