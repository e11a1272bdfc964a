#!/usr/bin/env python3
"""Generate the administrative-unit data files shipped in orchestrator/data/units/.

Dev-only tool. It needs the PyPI package ``vietnam-provinces`` (GPL-3.0-or-later,
by Nguyễn Hồng Quân), which is NOT a runtime dependency of the orchestrator: only its
output (names and codes of the State's official list) is committed.

Writes:
  * ``divisions_2025.csv``: the 34 provinces and 3,321 communes/wards/special zones of the
    two-level local government (from 1/7/2025), with their statistical codes and, when the
    package ships its 2025 conversion table, the former (pre-2025) district of each commune;
  * ``province_units.json``: the provincial units of Hà Nội (01) and Thái Nguyên (19) used by
    the example procedures (service center and its branches, departments, land registration
    office and its branches). Branch areas are built by grouping communes by their former
    district: they are illustrative, see SOURCE.md.

Usage (from the repository root)::

    python scripts/generate_units.py                       # uses the importable vietnam_provinces
    python scripts/generate_units.py --vp-path DIR         # DIR holds an unpacked vietnam_provinces
    python scripts/generate_units.py --only-divisions      # leave province_units.json alone

Releases 2026.1.0 and later carry the official list as published by the National Statistics
Office (danhmuchanhchinh.nso.gov.vn, Decision 19/2025/QĐ-TTg) and the old-to-new conversion
table; release 2025.10.1 was built from the *draft* decision and differs in 114 codes, and has
no conversion table (former_district is then left empty).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / 'orchestrator' / 'data' / 'units'
CSV_NAME = 'divisions_2025.csv'
JSON_NAME = 'province_units.json'
CSV_HEADER = ['code', 'name', 'level', 'parent_code', 'division_type', 'former_district']

EXPECTED_PROVINCES = 34
EXPECTED_COMMUNES = 3321


def nfc(text: str) -> str:
    """NFC-normalise and collapse runs of spaces (the upstream data has a few doubles)."""
    return ' '.join(unicodedata.normalize('NFC', str(text)).split())


def short_name(full: str) -> str:
    """'Huyện Đông Anh' -> 'Đông Anh', 'Thành phố Thái Nguyên' -> 'Thái Nguyên'."""
    for prefix in ('thành phố ', 'thị xã ', 'quận ', 'huyện ', 'tỉnh '):
        if full.lower().startswith(prefix):
            return full[len(prefix):]
    return full


# ---------------------------------------------------------------------------
# Reading the package
# ---------------------------------------------------------------------------


def load_package(vp_path: str | None):
    if vp_path:
        sys.path.insert(0, vp_path)
    import vietnam_provinces as vp  # noqa: PLC0415

    return vp


def read_divisions(vp) -> tuple[list[dict], list[dict]]:
    """Provinces and communes from the package's nested JSON (same data as its lookup tables)."""
    data = json.loads(Path(vp.NESTED_DIVISIONS_JSON_PATH).read_text(encoding='utf-8'))
    provinces, communes = [], []
    for p in data:
        pcode = f"{int(p['code']):02d}"
        provinces.append({
            'code': pcode,
            'name': nfc(p['name']),
            'level': 'province',
            'parent_code': 'VN',
            'division_type': nfc(p['division_type']),
            'former_district': '',
            '_district_code': None,
        })
        for w in p['wards']:
            communes.append({
                'code': f"{int(w['code']):05d}",
                'name': nfc(w['name']),
                'level': 'commune',
                'parent_code': pcode,
                'division_type': nfc(w['division_type']),
                'former_district': '',
                '_district_code': None,
            })
    provinces.sort(key=lambda r: r['code'])
    communes.sort(key=lambda r: (r['parent_code'], r['code']))
    return provinces, communes


def attach_former_districts(communes: list[dict]) -> str:
    """Set each commune's former district from the package's 2025 conversion table.

    Rule: a new commune usually keeps the statistical code of one of the old communes merged
    into it; that old commune's district is taken. Otherwise the district contributing the most
    old communes (a wholly merged one weighs 1, a partly merged one 0.5; ties: lowest code).
    Returns a short note on what was done.
    """
    try:
        from vietnam_provinces import _ward_conversion_2025 as conv  # noqa: PLC0415
        from vietnam_provinces.legacy import District as LegacyDistrict  # noqa: PLC0415
        from vietnam_provinces.legacy import Ward as LegacyWard  # noqa: PLC0415
        from vietnam_provinces.legacy.codes import DistrictCode, WardCode  # noqa: PLC0415
    except ImportError:
        return 'no conversion table in this release: former_district left empty'

    def district_name(code: int) -> str:
        return nfc(LegacyDistrict.from_code(DistrictCode(code)).name)

    island_candidates = [d for d in LegacyDistrict.iter_all() if nfc(d.name).startswith('Huyện ')]
    by_rule = Counter()
    for c in communes:
        new_code = int(c['code'])
        entry = conv.NEW_TO_OLD.get(new_code)
        district = None
        if entry is not None:
            same = [o for o in entry.old_wards if o.code == new_code]
            if same:
                district = same[0].district_code
                by_rule['same code'] += 1
            else:
                weight: Counter = Counter()
                for o in entry.old_wards:
                    weight[o.district_code] += 0.5 if o.is_partly_merged else 1.0
                if weight:
                    district = max(sorted(weight), key=lambda d: weight[d])
                    by_rule['majority'] += 1
        if district is None:
            try:
                district = int(LegacyWard.from_code(WardCode(new_code)).district_code)
                by_rule['legacy ward of same code'] += 1
            except (ValueError, KeyError):
                pass
        if district is None and c['division_type'] == 'đặc khu':
            # Former island districts without communes (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn,
            # Côn Đảo) are absent from the table: take the old district of the same name.
            own = c['name'].removeprefix('Đặc khu ')
            same_name = [int(d.code) for d in island_candidates if short_name(nfc(d.name)) == own]
            if len(same_name) == 1:
                district = same_name[0]
                by_rule['island district of same name'] += 1
        if district is None:
            by_rule['unknown'] += 1
            continue
        c['_district_code'] = int(district)
        c['former_district'] = district_name(int(district))
    return ', '.join(f'{k}: {v}' for k, v in sorted(by_rule.items()))


# ---------------------------------------------------------------------------
# Provincial units (illustrative areas)
# ---------------------------------------------------------------------------

# Departments modelled for the example procedures: (dept_code, Vietnamese name, English name).
DEPARTMENTS = [
    ('STP', 'Sở Tư pháp', 'Department of Justice'),
    ('STC', 'Sở Tài chính', 'Department of Finance'),
    ('SNNMT', 'Sở Nông nghiệp và Môi trường', 'Department of Agriculture and Environment'),
    ('SXD', 'Sở Xây dựng', 'Department of Construction'),
    ('SNV', 'Sở Nội vụ', 'Department of Home Affairs'),
    ('SCT', 'Sở Công Thương', 'Department of Industry and Trade'),
    ('SYT', 'Sở Y tế', 'Department of Health'),
    ('SGDDT', 'Sở Giáo dục và Đào tạo', 'Department of Education and Training'),
    ('SKHCN', 'Sở Khoa học và Công nghệ', 'Department of Science and Technology'),
]
EXTRA_DEPARTMENTS = {
    '01': [('SQHKT', 'Sở Quy hoạch - Kiến trúc', 'Department of Planning and Architecture')],
}

# How each province is written inside unit names, and in English.
PROVINCE_LABEL = {
    '01': ('thành phố Hà Nội', 'Hà Nội', 'Hanoi'),
    '19': ('tỉnh Thái Nguyên', 'Thái Nguyên', 'Thai Nguyen Province'),
}

# Hà Nội: 12 service-center branches, each serving the communes whose former district is in
# the group (former districts as short names). Illustrative grouping of the 30 former
# district-level units by neighbourhood, not the city's decision.
HANOI_SERVICE_CENTER_AREAS = [
    ['Hoàn Kiếm', 'Ba Đình', 'Tây Hồ'],
    ['Đống Đa', 'Hai Bà Trưng'],
    ['Cầu Giấy', 'Thanh Xuân', 'Nam Từ Liêm', 'Bắc Từ Liêm'],
    ['Hoàng Mai', 'Thanh Trì'],
    ['Long Biên', 'Gia Lâm'],
    ['Đông Anh', 'Sóc Sơn', 'Mê Linh'],
    ['Hà Đông', 'Hoài Đức', 'Đan Phượng'],
    ['Sơn Tây', 'Ba Vì', 'Phúc Thọ'],
    ['Quốc Oai', 'Thạch Thất'],
    ['Chương Mỹ', 'Thanh Oai'],
    ['Thường Tín', 'Phú Xuyên'],
    ['Ứng Hòa', 'Mỹ Đức'],
]

# Thái Nguyên: main center plus two branches (the other communes are served by the main
# center). Groups of former districts by short name; illustrative.
THAI_NGUYEN_SERVICE_CENTER_AREAS = [
    ['Bắc Kạn', 'Pác Nặm', 'Ba Bể', 'Ngân Sơn', 'Bạch Thông', 'Chợ Đồn', 'Chợ Mới', 'Na Rì'],
    ['Phổ Yên', 'Sông Công', 'Phú Bình'],
]
THAI_NGUYEN_AREA_LABELS = ['Bắc Kạn', 'Phổ Yên – Sông Công – Phú Bình']

SERVICE_CENTER_AREAS = {'01': HANOI_SERVICE_CENTER_AREAS, '19': THAI_NGUYEN_SERVICE_CENTER_AREAS}
SERVICE_CENTER_LABELS = {'19': THAI_NGUYEN_AREA_LABELS}

LAND_OFFICE_NAME = {
    '01': ('Văn phòng Đăng ký đất đai Hà Nội', 'Hanoi Land Registration Office'),
    '19': ('Văn phòng Đăng ký đất đai tỉnh Thái Nguyên', 'Thai Nguyen Land Registration Office'),
}


def ascii_fold(text: str) -> str:
    text = text.replace('Đ', 'D').replace('đ', 'd')
    return ''.join(ch for ch in unicodedata.normalize('NFD', text) if not unicodedata.combining(ch))


def _groups_by_district(communes: list[dict], pcode: str) -> list[tuple[int, str, list[str]]]:
    """(district code, district full name, commune codes) for the province, by district code."""
    groups: dict[int, list[str]] = defaultdict(list)
    names: dict[int, str] = {}
    for c in communes:
        if c['parent_code'] != pcode:
            continue
        if c['_district_code'] is None:
            raise SystemExit(
                f"commune {c['code']} {c['name']} has no former district: cannot build branch areas "
                '(use a vietnam-provinces release with the 2025 conversion table, or --only-divisions)'
            )
        groups[c['_district_code']].append(c['code'])
        names[c['_district_code']] = c['former_district']
    return [(d, names[d], sorted(groups[d])) for d in sorted(groups)]


def build_province_units(communes: list[dict], provinces: list[dict]) -> list[dict]:
    province_names = {p['code']: p['name'] for p in provinces}
    units: list[dict] = []
    for pcode in ('01', '19'):
        in_name, short, en = PROVINCE_LABEL[pcode]
        assert pcode in province_names, pcode
        by_district = _groups_by_district(communes, pcode)
        district_of_short = {}
        for d, full, codes in by_district:
            key = short_name(full)
            if key in district_of_short:
                raise SystemExit(f'two former districts named {key} in {pcode}')
            district_of_short[key] = (d, full, codes)

        # Service center and its branches.
        center = f'{pcode}.TTPVHCC'
        units.append({
            'code': center,
            'name': f'Trung tâm Phục vụ hành chính công {in_name}',
            'name_en': f'{en} Public Administration Service Center',
            'level': 'service-center',
            'parent_code': pcode,
            'dept_code': None,
            'serves': [],
        })
        areas = SERVICE_CENTER_AREAS[pcode]
        labels = SERVICE_CENTER_LABELS.get(pcode) or [' – '.join(a) for a in areas]
        used = set()
        for i, (area, label) in enumerate(zip(areas, labels, strict=True), start=1):
            serves: list[str] = []
            for key in area:
                if key not in district_of_short:
                    raise SystemExit(f'{pcode}: former district {key!r} not found; have {sorted(district_of_short)}')
                if key in used:
                    raise SystemExit(f'{pcode}: former district {key!r} in two service-center areas')
                used.add(key)
                serves.extend(district_of_short[key][2])
            units.append({
                'code': f'{center}.CN{i:02d}',
                'name': f'Chi nhánh số {i} Trung tâm Phục vụ hành chính công {in_name} (khu vực {label})',
                'name_en': f'{en} Public Administration Service Center, branch {i} ({ascii_fold(label)} area)',
                'level': 'service-center',
                'parent_code': center,
                'dept_code': None,
                'serves': sorted(serves),
            })
        if pcode == '01' and used != set(district_of_short):
            raise SystemExit(f'01: former districts without a service-center branch: {set(district_of_short) - used}')

        # Departments.
        for dept_code, vi, en_name in DEPARTMENTS + EXTRA_DEPARTMENTS.get(pcode, []):
            units.append({
                'code': f'{pcode}.{dept_code}',
                'name': f'{vi} {in_name}',
                'name_en': f'{en} {en_name}',
                'level': 'department',
                'parent_code': pcode,
                'dept_code': dept_code,
                'serves': [],
            })

        # Land registration office and one branch per former district.
        office = f'{pcode}.VPDKDD'
        office_vi, office_en = LAND_OFFICE_NAME[pcode]
        units.append({
            'code': office,
            'name': office_vi,
            'name_en': office_en,
            'level': 'department',
            'parent_code': pcode,
            'dept_code': 'VPDKDD',
            'serves': [],
        })
        for i, (_d, full, codes) in enumerate(by_district, start=1):
            area = short_name(full)
            units.append({
                'code': f'{office}.CN{i:02d}',
                'name': f'Chi nhánh {office_vi} khu vực {area}',
                'name_en': f'{office_en}, {ascii_fold(area)} area branch',
                'level': 'department',
                'parent_code': office,
                'dept_code': 'VPDKDD',
                'serves': codes,
            })
    return units


# ---------------------------------------------------------------------------


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open('w', encoding='utf-8', newline='') as fh:
        writer = csv.writer(fh, lineterminator='\n')
        writer.writerow(CSV_HEADER)
        for r in rows:
            writer.writerow([r[k] for k in CSV_HEADER])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--vp-path', help='directory to put first on sys.path (an unpacked vietnam_provinces release)')
    ap.add_argument('--out', type=Path, default=OUT_DIR, help='output directory (default: %(default)s)')
    ap.add_argument('--only-divisions', action='store_true', help='write only the CSV')
    args = ap.parse_args(argv)

    vp = load_package(args.vp_path)
    provinces, communes = read_divisions(vp)
    if len(provinces) != EXPECTED_PROVINCES or len(communes) != EXPECTED_COMMUNES:
        raise SystemExit(f'unexpected counts: {len(provinces)} provinces, {len(communes)} communes')
    codes = [r['code'] for r in provinces + communes]
    if len(codes) != len(set(codes)):
        raise SystemExit('duplicate codes')
    note = attach_former_districts(communes)

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / CSV_NAME, provinces + communes)
    print(f'vietnam-provinces {vp.__version__} (data {getattr(vp, "__data_version__", "?")}) from {vp.__file__}')
    print(f'{CSV_NAME}: {len(provinces)} provinces, {len(communes)} communes; former district: {note}')

    if not args.only_divisions:
        units = build_province_units(communes, provinces)
        # One unit per line: readable, and diffs stay small when an area is edited.
        text = '[\n' + ',\n'.join(json.dumps(u, ensure_ascii=False) for u in units) + '\n]\n'
        (args.out / JSON_NAME).write_text(text, encoding='utf-8')
        print(f'{JSON_NAME}: {len(units)} units')
    return 0


if __name__ == '__main__':
    sys.exit(main())
