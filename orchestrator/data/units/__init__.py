"""Administrative units shipped as data: the official list and some provincial units.

* ``divisions_2025.csv``: the 34 provinces and 3,321 communes/wards/special zones of the
  two-level local government (from 1/7/2025), with their statistical codes;
* ``province_units.json``: provincial units (service center and branches, departments, land
  registration office and branches) of Hà Nội (01) and Thái Nguyên (19); illustrative areas.

See SOURCE.md for where they come from and how to regenerate them. This module only reads the
files: no database, no third-party package.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

__all__ = ['UnitRecord', 'iter_units', 'DIVISIONS_CSV', 'PROVINCE_UNITS_JSON', 'COUNTRY_CODE']

DIVISIONS_CSV = 'divisions_2025.csv'
PROVINCE_UNITS_JSON = 'province_units.json'
COUNTRY_CODE = 'VN'


@dataclass(frozen=True)
class UnitRecord:
    code: str
    name: str
    level: str  # national, province, commune, service-center, department
    parent_code: str | None
    province_code: str | None
    dept_code: str | None = None
    name_en: str | None = None
    serves: tuple[str, ...] = ()


def _read_text(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding='utf-8')


def iter_units() -> Iterator[UnitRecord]:
    """The country, then the provinces, the communes and the provincial units, in that order.

    Every parent comes before its children, so a caller can insert them in one pass.
    """
    yield UnitRecord(
        code=COUNTRY_CODE, name='Việt Nam', level='national', parent_code=None,
        province_code=None, name_en='Viet Nam',
    )
    rows = list(csv.DictReader(io.StringIO(_read_text(DIVISIONS_CSV))))
    for level in ('province', 'commune'):
        for row in rows:
            if row['level'] != level:
                continue
            yield UnitRecord(
                code=row['code'],
                name=row['name'],
                level=level,
                parent_code=row['parent_code'],
                province_code=row['code'] if level == 'province' else row['parent_code'],
            )
    for item in json.loads(_read_text(PROVINCE_UNITS_JSON)):
        yield UnitRecord(
            code=item['code'],
            name=item['name'],
            level=item['level'],
            parent_code=item['parent_code'],
            province_code=item['code'].split('.', 1)[0],
            dept_code=item.get('dept_code') or None,
            name_en=item.get('name_en') or None,
            serves=tuple(item.get('serves') or ()),
        )
