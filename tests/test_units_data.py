"""The shipped list of administrative units and the provincial units of the examples."""

from __future__ import annotations

import csv
import io
from collections import Counter
from importlib import resources

import pytest

from orchestrator.data.units import DIVISIONS_CSV, UnitRecord, iter_units


@pytest.fixture(scope='module')
def units() -> list[UnitRecord]:
    return list(iter_units())


@pytest.fixture(scope='module')
def by_code(units):
    return {u.code: u for u in units}


def _of_level(units, level):
    return [u for u in units if u.level == level]


def test_header_and_encoding():
    text = resources.files('orchestrator.data.units').joinpath(DIVISIONS_CSV).read_text(encoding='utf-8')
    header = next(csv.reader(io.StringIO(text)))
    assert header[:5] == ['code', 'name', 'level', 'parent_code', 'division_type']
    assert 'Thành phố Hà Nội' in text


def test_counts(units):
    assert len(_of_level(units, 'national')) == 1
    assert len(_of_level(units, 'province')) == 34
    assert len(_of_level(units, 'commune')) == 3321


def test_codes_unique_and_well_formed(units):
    codes = [u.code for u in units]
    assert len(codes) == len(set(codes))
    for p in _of_level(units, 'province'):
        assert len(p.code) == 2 and p.code.isdigit(), p
        assert p.parent_code == 'VN' and p.province_code == p.code
    for c in _of_level(units, 'commune'):
        assert len(c.code) == 5 and c.code.isdigit(), c


def test_order_parents_first(units):
    assert units[0].code == 'VN' and units[0].parent_code is None and units[0].province_code is None
    seen = set()
    for u in units:
        assert u.parent_code is None or u.parent_code in seen, u
        seen.add(u.code)


def test_every_commune_in_a_province(units, by_code):
    for c in _of_level(units, 'commune'):
        assert by_code[c.parent_code].level == 'province', c
        assert c.province_code == c.parent_code


def test_known_provinces(by_code):
    assert by_code['01'].name == 'Thành phố Hà Nội'
    assert by_code['19'].name == 'Tỉnh Thái Nguyên'


def test_communes_per_example_province(units):
    per_province = Counter(c.parent_code for c in _of_level(units, 'commune'))
    assert per_province['01'] == 126
    assert per_province['19'] == 92


def test_province_units_belong_to_their_province(units, by_code):
    for u in units:
        if u.level in ('service-center', 'department'):
            assert u.province_code in ('01', '19'), u
            assert u.code.startswith(u.province_code + '.'), u
            parent = by_code[u.parent_code]
            assert parent.province_code == u.province_code
            for s in u.serves:
                assert by_code[s].level == 'commune' and by_code[s].parent_code == u.province_code, (u.code, s)


@pytest.mark.parametrize('province', ['01', '19'])
def test_main_service_center(by_code, province):
    center = by_code[f'{province}.TTPVHCC']
    assert center.level == 'service-center'
    assert center.parent_code == province
    assert center.name.startswith('Trung tâm Phục vụ hành chính công')


@pytest.mark.parametrize('province', ['01', '19'])
def test_departments(by_code, province):
    for dept in ('STP', 'SNNMT', 'STC', 'VPDKDD'):
        unit = by_code[f'{province}.{dept}']
        assert unit.level == 'department' and unit.dept_code == dept and unit.parent_code == province
    assert by_code[f'{province}.STP'].name.startswith('Sở Tư pháp')
    assert by_code[f'{province}.SNNMT'].name.startswith('Sở Nông nghiệp và Môi trường')


def _served_once(units, province, branches):
    communes = {c.code for c in _of_level(units, 'commune') if c.parent_code == province}
    served = Counter(code for b in branches for code in b.serves)
    assert set(served) == communes
    assert all(n == 1 for n in served.values()), [k for k, n in served.items() if n > 1]


@pytest.mark.parametrize('province', ['01', '19'])
def test_land_registration_branches_cover_each_commune_once(units, province):
    branches = [u for u in units if u.parent_code == f'{province}.VPDKDD']
    assert branches
    for b in branches:
        assert b.level == 'department' and b.dept_code == 'VPDKDD'
        assert b.code.startswith(f'{province}.VPDKDD.CN') and b.serves
    _served_once(units, province, branches)


def test_hanoi_service_center_branches(units):
    branches = [u for u in units if u.parent_code == '01.TTPVHCC']
    assert len(branches) == 12
    assert all(b.level == 'service-center' and b.code.startswith('01.TTPVHCC.CN') for b in branches)
    _served_once(units, '01', branches)


def test_thai_nguyen_service_center_branches_do_not_overlap(units):
    branches = [u for u in units if u.parent_code == '19.TTPVHCC']
    served = Counter(code for b in branches for code in b.serves)
    assert all(n == 1 for n in served.values())
