"""Citizens' satisfaction ratings and feedback (issue 24, point 6).

A citizen rates a dossier once its result has been returned, with the dossier code and the last
four digits of the applicant's phone (the tracking page's second factor, compared in constant time;
wrong digits counted on the same throttle key as the tracking page, so the forms are no way round
its backoff). Feedback or a petition is about a dossier (same check) or a procedure of a province.
Supervisors and administrators of the province read them beside the statistics and answer; the
answer goes to the contact the citizen gave through the outbox (`messages.queue_message`), in the
same transaction. Nothing here commits."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..i18n import vi
from ..models import (
    Dossier,
    DossierStatus,
    Procedure,
    ProcedureAlias,
    ProcedureVersion,
    Unit,
)
from ..models.feedback import COMMENT_MAX, KINDS, TEXT_MAX, Feedback, Rating
from ..models.messages import EMAIL, SMS
from ..models.types import utcnow
from . import access, messages, throttle
from .auth import Actor
from .dossiers import get_public
from .errors import Conflict, Forbidden, Invalid, NotFound, TooManyAttempts

ANSWER_EVENT = "feedback.answered"
LIST_LIMIT = 200


def _checked_dossier(session: Session, code: str, phone_digits: str, client: str | None) -> Dossier:
    """The dossier of `code` when the applicant's phone ends with `phone_digits`; wrong digits are
    counted on the tracking page's key (code, client address) and wait as long as it does."""
    dossier = get_public(session, (code or "").strip()[:80])
    key = throttle.key("track", dossier.code, client or "")
    wait = throttle.wait_seconds(session, key)
    if wait:
        raise TooManyAttempts(throttle.too_many(wait), retry_after=wait, extra={"retry_after": wait})
    if not re.fullmatch(r"\d{4}", (phone_digits or "").strip()):
        raise Invalid(vi("Nhập đúng 4 số cuối điện thoại của người nộp hồ sơ."),
                      fields={"phone": vi("4 chữ số")})
    if not access.citizen_sees_details(dossier, phone_digits):
        wait = throttle.fail(session, key)
        if wait:
            raise TooManyAttempts(throttle.too_many(wait), retry_after=wait, extra={"retry_after": wait})
        raise Forbidden(vi("Số điện thoại không khớp với hồ sơ."), code="wrong_phone", fields={"phone": vi("không khớp")})
    throttle.clear(session, key)
    return dossier


def rate(session: Session, code: str, phone_digits: str, score, comment: str | None = None,
         client: str | None = None) -> Rating:
    """Rate a returned dossier 1-5, once (409 after the first rating or before the return)."""
    try:
        score = int(str(score).strip())
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise Invalid(vi("Chọn mức độ hài lòng từ 1 đến 5 sao."), fields={"score": vi("từ 1 đến 5")})
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > COMMENT_MAX:
        raise Invalid(vi("Ý kiến dài quá %(max)s ký tự.", max=COMMENT_MAX),
                      fields={"comment": vi("tối đa %(max)s ký tự", max=COMMENT_MAX)})
    dossier = _checked_dossier(session, code, phone_digits, client)
    if dossier.status != DossierStatus.RETURNED:
        raise Conflict(vi("Chỉ đánh giá được sau khi hồ sơ đã trả kết quả."), code="not_returned")
    if session.scalar(select(Rating.id).where(Rating.dossier_id == dossier.id)) is not None:
        raise Conflict(vi("Hồ sơ này đã được đánh giá; mỗi hồ sơ chỉ đánh giá một lần."), code="already_rated")
    rating = Rating(dossier_id=dossier.id, score=score, comment=comment, created_at=utcnow())
    try:
        with session.begin_nested():  # two submissions at once: the unique key keeps one
            session.add(rating)
            session.flush()
    except IntegrityError:
        raise Conflict(vi("Hồ sơ này đã được đánh giá; mỗi hồ sơ chỉ đánh giá một lần."), code="already_rated")
    return rating


def rating_of(session: Session, dossier: Dossier) -> Rating | None:
    return session.scalar(select(Rating).where(Rating.dossier_id == dossier.id))


def _contacts(email: str | None, phone: str | None) -> tuple[str | None, str | None]:
    email, phone = (email or "").strip() or None, (phone or "").strip() or None
    if email is not None and not messages.valid_email(email):
        raise Invalid(vi("Địa chỉ email không hợp lệ."), fields={"email": vi("không hợp lệ")})
    if phone is not None:
        phone = messages.normalise(SMS, phone)
        if not messages.valid_phone(phone):
            raise Invalid(vi("Số điện thoại liên hệ không hợp lệ."), fields={"contact_phone": vi("không hợp lệ")})
    return email, phone


def send_feedback(session: Session, *, kind: str, text: str, code: str | None = None,
                  phone_digits: str | None = None, procedure_code: str | None = None,
                  province_code: str | None = None, email: str | None = None, contact_phone: str | None = None,
                  client: str | None = None) -> Feedback:
    """Feedback or a petition about a dossier (code + phone digits) or a procedure of a province."""
    if kind not in KINDS:
        raise Invalid(vi("Chọn phản ánh hoặc kiến nghị."), fields={"kind": vi("phản ánh hoặc kiến nghị")})
    text = (text or "").strip()
    if not text:
        raise Invalid(vi("Nhập nội dung phản ánh, kiến nghị."), fields={"text": vi("bắt buộc")})
    if len(text) > TEXT_MAX:
        raise Invalid(vi("Nội dung dài quá %(max)s ký tự.", max=TEXT_MAX),
                      fields={"text": vi("tối đa %(max)s ký tự", max=TEXT_MAX)})
    email, contact_phone = _contacts(email, contact_phone)
    if code:
        dossier = _checked_dossier(session, code, phone_digits or "", client)
        item = Feedback(dossier_id=dossier.id, procedure_code=dossier.procedure_code,
                        province_code=dossier.province_code, unit_code=dossier.received_by_unit)
    else:
        procedure_code, province_code = (procedure_code or "").strip()[:40], (province_code or "").strip()[:2]
        alias = session.get(ProcedureAlias, procedure_code) if procedure_code else None
        procedure_code = alias.procedure_code if alias is not None else procedure_code  # a renumbered procedure
        if not procedure_code or session.scalar(select(ProcedureVersion.id).where(
                ProcedureVersion.procedure_code == procedure_code).limit(1)) is None:
            raise Invalid(vi("Không có thủ tục %(code)s.", code=procedure_code or "—"),
                          fields={"procedure_code": vi("không có thủ tục này")})
        province = session.get(Unit, province_code) if province_code else None
        if not province_code:
            raise Invalid(vi("Chọn tỉnh, thành phố nơi thực hiện thủ tục."), fields={"province_code": vi("mã tỉnh")})
        if province is None or province.level != "province":
            raise Invalid(vi("Không có tỉnh, thành phố mã %(code)s.", code=province_code),
                          fields={"province_code": vi("mã tỉnh")})
        item = Feedback(procedure_code=procedure_code, province_code=province_code)
    item.kind, item.text, item.contact_email, item.contact_phone = kind, text, email, contact_phone
    item.created_at = utcnow()
    session.add(item)
    session.flush()
    return item


def answer(session: Session, actor: Actor, feedback_id: int, text: str) -> Feedback:
    """A supervisor's answer, stored and queued to each contact the citizen gave (same transaction)."""
    item = session.get(Feedback, feedback_id)
    if item is None:
        raise NotFound(vi("Không tìm thấy phản ánh, kiến nghị này."))
    access.may_answer_feedback(actor, item.province_code)
    text = (text or "").strip()
    if not text:
        raise Invalid(vi("Nhập nội dung trả lời."), fields={"answer": vi("bắt buộc")})
    if len(text) > TEXT_MAX:
        raise Invalid(vi("Nội dung dài quá %(max)s ký tự.", max=TEXT_MAX),
                      fields={"answer": vi("tối đa %(max)s ký tự", max=TEXT_MAX)})
    if item.answered_at is not None:
        raise Conflict(vi("Phản ánh, kiến nghị này đã được trả lời."), code="already_answered")
    item.answer, item.answered_by, item.answered_at = text, actor.name, utcnow()
    dossier = session.get(Dossier, item.dossier_id) if item.dossier_id else None
    about = dossier.code if dossier is not None else item.procedure_code
    subject = f"Trả lời phản ánh, kiến nghị về {about}"
    for channel, contact in ((EMAIL, item.contact_email), (SMS, item.contact_phone)):
        if contact:
            body = (f"Trả lời phản ánh, kiến nghị của ông/bà về {about}:\n{text}" if channel == EMAIL
                    else f"Tra loi phan anh ve {about}: {text}"[:600])
            messages.queue_message(session, dossier=dossier, channel=channel, recipient=contact,
                                   event=ANSWER_EVENT, subject=subject, body=body)
    session.flush()
    return item


@dataclass
class RatingRow:
    code: str
    name: str
    count: int = 0
    average: float | None = None
    feedback: int = 0
    unanswered: int = 0


@dataclass
class Summary:
    scope: str
    count: int
    average: float | None
    units: list[RatingRow] = field(default_factory=list)
    procedures: list[RatingRow] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    dossier_codes: dict[int, str] = field(default_factory=dict)


def summary(session: Session, actor: Actor, scope: str | None = None, *, kind: str | None = None,
            answered: bool | None = None, unit: str | None = None, procedure: str | None = None) -> Summary:
    """Average rating and counts per receiving unit and per procedure of a province (or VN), and
    the feedback list with its filters (newest first, at most LIST_LIMIT)."""
    scope = access.statistics_scope(actor, scope, session)
    rated = select(Dossier.received_by_unit, Dossier.procedure_code, Rating.score).join(
        Dossier, Dossier.id == Rating.dossier_id)
    fed = select(Feedback)
    if scope != "VN":
        rated = rated.where(Dossier.province_code == scope)
        fed = fed.where(Feedback.province_code == scope)
    rows = rated.subquery()
    units: dict[str, RatingRow] = {}
    procedures: dict[str, RatingRow] = {}
    for key, table, column in (("unit", units, rows.c.received_by_unit), ("proc", procedures, rows.c.procedure_code)):
        for code, count, average in session.execute(
                select(column, func.count(), func.avg(rows.c.score)).group_by(column)):
            table[code] = RatingRow(code, code, count, round(float(average), 2))
    fed_rows = fed.subquery()
    for table, column in ((units, fed_rows.c.unit_code), (procedures, fed_rows.c.procedure_code)):
        for code, count, open_ in session.execute(select(
                column, func.count(), func.count().filter(fed_rows.c.answered_at.is_(None))).group_by(column)):
            if code is None:
                continue
            row = table.setdefault(code, RatingRow(code, code))
            row.feedback, row.unanswered = count, open_
    for model, table in ((Unit, units), (Procedure, procedures)):
        if table:
            for code, name in session.execute(select(model.code, model.name).where(model.code.in_(list(table)))):
                table[code].name = name
    count, average = session.execute(select(func.count(), func.avg(rows.c.score))).one()
    listing = fed
    if kind in KINDS:
        listing = listing.where(Feedback.kind == kind)
    if answered is not None:
        listing = listing.where(Feedback.answered_at.is_not(None) if answered else Feedback.answered_at.is_(None))
    if unit:
        listing = listing.where(Feedback.unit_code == unit)
    if procedure:
        listing = listing.where(Feedback.procedure_code == procedure)
    items = list(session.scalars(listing.order_by(Feedback.created_at.desc(), Feedback.id.desc()).limit(LIST_LIMIT)))
    ids = {f.dossier_id for f in items if f.dossier_id}
    codes = dict(session.execute(select(Dossier.id, Dossier.code).where(Dossier.id.in_(ids))).all()) if ids else {}
    order = lambda r: (-r.count, r.code)
    return Summary(scope, count or 0, round(float(average), 2) if average is not None else None,
                   sorted(units.values(), key=order), sorted(procedures.values(), key=order), items, codes)
