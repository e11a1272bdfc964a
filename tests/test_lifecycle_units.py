"""Pure rules without a database: fee rules (data-driven tiers), office time of a pause,
attachment checks and storages, PDF with Vietnamese glyphs."""
from __future__ import annotations

import io
from datetime import datetime

import pytest

from orchestrator.services import fees
from orchestrator.services.attachments import DiskStorage, check_file
from orchestrator.services.calendar import TZ, WorkingCalendar
from orchestrator.services.errors import Conflict, Invalid, TooLarge

CERTIFIED_COPIES = {"kind": "tiered", "quantity_field": "page_count", "tiers": [{"from": 1, "price": 2000},
                    {"from": 3, "price": 1000}], "max": 200000, "multiplier_field": "copy_count"}


@pytest.mark.parametrize("pages,copies,amount", [(1, 1, 2000), (2, 1, 4000), (3, 1, 5000), (10, 1, 12000),
                                                 (198, 1, 200000), (250, 1, 200000), (10, 3, 36000), (0, 1, 0)])
def test_certified_copy_fee_tiers_and_cap(pages, copies, amount):
    assert fees.compute(CERTIFIED_COPIES, {"page_count": pages, "copy_count": copies}) == amount


def test_other_fee_rules_and_bad_input():
    assert fees.compute({"kind": "free"}, {}) == 0
    assert fees.compute({"kind": "fixed", "amount": 100000}, {}) == 100000
    assert fees.compute({"kind": "field", "field": "obligation_total"}, {"obligation_total": 812345.6}) == 812346
    with pytest.raises(Invalid):
        fees.compute(CERTIFIED_COPIES, {"page_count": "many"})
    with pytest.raises(Invalid):
        fees.compute({"kind": "field", "field": "obligation_total"}, {})
    with pytest.raises(Conflict):
        fees.compute({"kind": "per-page"}, {})
    with pytest.raises(Invalid):
        fees.check_rule({"kind": "tiered", "quantity_field": "p", "tiers": [{"from": 0, "price": 1}]})


def test_office_hours_of_a_pause_are_what_the_due_date_moves_by():
    cal = WorkingCalendar()
    start, end = datetime(2026, 11, 20, 15, 0, tzinfo=TZ), datetime(2026, 11, 23, 9, 30, tzinfo=TZ)  # Fri -> Mon
    assert cal.office_hours_between(start, end) == 4.0  # 15:00-17:00 Friday, 07:30-09:30 Monday
    assert cal.office_hours_between(datetime(2026, 11, 21, 8, 0, tzinfo=TZ), datetime(2026, 11, 21, 16, 0, tzinfo=TZ)) == 0
    due = datetime(2026, 12, 1, 17, 0, tzinfo=TZ)
    assert cal.add_office_hours(due, 4.0) == datetime(2026, 12, 2, 11, 30, tzinfo=TZ)


def test_attachment_checks_and_disk_storage(tmp_path):
    assert check_file("../../etc/Đơn.PDF", b"%PDF-1.7", 100) == ("Đơn.PDF", "application/pdf")
    assert check_file("scan.jpeg", b"\xff\xd8\xff\xe0", 100)[1] == "image/jpeg"
    for name, data in (("a.exe", b"MZ"), ("a.pdf", b"MZ"), ("", b"%PDF-"), ("a.pdf", b"")):
        with pytest.raises(Invalid):
            check_file(name, data, 100)
    with pytest.raises(TooLarge):
        check_file("a.pdf", b"%PDF-" + b"x" * 200, 100)
    store = DiskStorage(tmp_path)
    store.put("0" * 32, b"abc")
    assert store.get("0" * 32) == b"abc"
    with pytest.raises(ValueError):
        store.get("../secret")
    store.delete("0" * 32)
    with pytest.raises(FileNotFoundError):
        store.get("0" * 32)


def test_pdf_embeds_a_font_with_vietnamese_glyphs():
    from pypdf import PdfReader

    from orchestrator.services.documents import DEFAULT_FONT_DIR, render_pdf

    html = ('<html><head><style>@font-face { font-family: "F"; src: url("%s/DejaVuSerif.ttf"); } '
            'body { font-family: "F"; }</style></head><body><p>Giấy tiếp nhận hồ sơ và hẹn trả kết quả: '
            'Nguyễn Văn Đức, xã Đông Anh</p></body></html>' % DEFAULT_FONT_DIR)
    pdf = render_pdf(html)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Nguyễn Văn Đức" in text and "hẹn trả kết quả" in text


def test_a_steps_outcome_counts_vietnam_days():
    """Times come from the database in UTC; early means an earlier day in Vietnam."""
    from datetime import timezone

    from orchestrator.services.documents import step_outcome

    due = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)  # 17:00 on 2 December in Vietnam
    assert step_outcome(datetime(2026, 12, 1, 23, 0, tzinfo=timezone.utc), due) == "on_time"  # 06:00 on the 2nd
    assert step_outcome(datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc), due) == "early"
    assert step_outcome(datetime(2026, 12, 2, 16, 59, tzinfo=timezone.utc), due) == "on_time"  # 23:59, due day
    assert step_outcome(datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc), due) == "late"  # 00:00 on the 3rd
    assert step_outcome(datetime(2026, 12, 9, 2, 0, tzinfo=timezone.utc), None) == "on_time"
