"""Dossiers, their workflow state, their open work items and the daily code counter."""
from __future__ import annotations

from datetime import datetime
from enum import IntEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, event, inspect, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..text import dossier_search_text, nfc
from .procedures import ProcedureVersion
from .types import JSONType, UTCDateTime, utcnow


class DossierStatus(IntEnum):
    """The national portal's status codes (TrangThaiHoSo, docs/domain.md). The column and every JSON
    answer keep the integer; the code compares with these names."""

    AWAITING_RECEPTION = 1    # Mới đăng ký: submitted online or by post, not yet received
    RECEIVED = 2              # Được tiếp nhận: accepted at reception, the legal period runs
    REFUSED = 3               # Không được tiếp nhận
    PROCESSING = 4            # Đang xử lý
    SUPPLEMENT_REQUESTED = 5  # Yêu cầu bổ sung: waits for the citizen's papers (paused)
    PAYMENT_REQUESTED = 6     # Yêu cầu thực hiện nghĩa vụ tài chính: waits for fees or taxes (paused)
    WITHDRAWN = 7             # Công dân yêu cầu rút hồ sơ
    STOPPED = 8               # Dừng xử lý
    DECIDED = 9               # Đã xử lý xong: the result waits to be handed over
    RETURNED = 10             # Đã trả kết quả


_S = DossierStatus
STATUS_NAMES = {
    _S.AWAITING_RECEPTION: "Mới đăng ký",
    _S.RECEIVED: "Được tiếp nhận",
    _S.REFUSED: "Không được tiếp nhận",
    _S.PROCESSING: "Đang xử lý",
    _S.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung",
    _S.PAYMENT_REQUESTED: "Yêu cầu thực hiện nghĩa vụ tài chính",
    _S.WITHDRAWN: "Công dân yêu cầu rút hồ sơ",
    _S.STOPPED: "Dừng xử lý",
    _S.DECIDED: "Đã xử lý xong",
    _S.RETURNED: "Đã trả kết quả",
}
# Reaching one of these ends the dossier: `finished_at` is set, no transition leaves them. (A
# decided dossier whose workflow has ended is finished too, while it stays 9: see `steps.set_status`.)
FINAL_STATUSES = frozenset({_S.REFUSED, _S.WITHDRAWN, _S.STOPPED, _S.RETURNED})

# Every status change the code makes: from -> {to: the action recorded in the history}. Nothing
# else is allowed (`steps.set_status` refuses it). "end" marks what the end of the workflow does
# (`steps.Step.save`): the outcome its end event names (refused, withdrawn, stopped, returned),
# else returned (10); a timer or a message may end it in any status but the final ones.
TRANSITIONS: dict[DossierStatus, dict[DossierStatus, str]] = {
    _S.AWAITING_RECEPTION: {
        _S.RECEIVED: "accepted",                          # reception step: accept (legal period starts)
        _S.REFUSED: "refused",                            # reception step: refuse (action `refuse`); end
        _S.SUPPLEMENT_REQUESTED: "supplement_requested",  # reception step: supplement (action)
        _S.WITHDRAWN: "withdrawn",                        # event `withdrawn`; end
        _S.STOPPED: "stopped",                            # end
        _S.RETURNED: "returned",                          # end
    },
    _S.RECEIVED: {
        _S.PROCESSING: "processing",                      # the first processing step opens
        _S.REFUSED: "refused",                            # a later reception step refuses; end
        _S.SUPPLEMENT_REQUESTED: "supplement_requested",  # action `request-supplement`; a reception step
        _S.PAYMENT_REQUESTED: "payment_requested",        # action `request-payment`
        _S.WITHDRAWN: "withdrawn",                        # event `withdrawn`; end
        _S.STOPPED: "stopped",                            # action `stop`; end
        _S.DECIDED: "decided",                            # decision step
        _S.RETURNED: "returned",                          # `return-result` without a decision step; end
    },
    _S.PROCESSING: {
        _S.REFUSED: "refused",                            # a reception step drawn later refuses; end
        _S.SUPPLEMENT_REQUESTED: "supplement_requested",  # action `request-supplement`; a reception step
        _S.PAYMENT_REQUESTED: "payment_requested",        # action `request-payment`
        _S.WITHDRAWN: "withdrawn",                        # event `withdrawn`; end
        _S.STOPPED: "stopped",                            # action `stop`; end
        _S.DECIDED: "decided",                            # decision step
        _S.RETURNED: "returned",                          # `return-result` without a decision step; end
    },
    _S.SUPPLEMENT_REQUESTED: {
        _S.AWAITING_RECEPTION: "supplement_submitted",    # event, at reception: the reception step again
        _S.PROCESSING: "supplement_submitted",            # event, during processing: the period restarts
        _S.REFUSED: "refused",                            # end (a timer or a message while held)
        _S.WITHDRAWN: "withdrawn",                        # event `withdrawn`; end
        _S.STOPPED: "stopped",                            # action `stop`; end
        _S.RETURNED: "returned",                          # end
    },
    _S.PAYMENT_REQUESTED: {
        _S.PROCESSING: "payment_received",                # event `payment_received`
        _S.REFUSED: "refused",                            # end (a timer or a message while held)
        _S.WITHDRAWN: "withdrawn",                        # event `withdrawn`; end
        _S.STOPPED: "stopped",                            # action `stop`; end
        _S.RETURNED: "returned",                          # end
    },
    _S.DECIDED: {
        _S.PROCESSING: "reopened",                        # action `return-to-step` after the decision
        _S.REFUSED: "refused",                            # end
        _S.SUPPLEMENT_REQUESTED: "supplement_requested",  # a reception step drawn after the decision
        _S.WITHDRAWN: "withdrawn",                        # end
        _S.STOPPED: "stopped",                            # end
        _S.RETURNED: "returned",                          # action `return-result`; end
    },
    _S.REFUSED: {}, _S.WITHDRAWN: {}, _S.STOPPED: {}, _S.RETURNED: {},
}


class Dossier(db.Model):
    __tablename__ = "dossier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    procedure_code: Mapped[str] = mapped_column(String(40))
    province_code: Mapped[str] = mapped_column(String(2))
    commune_code: Mapped[str] = mapped_column(String(5))
    received_by_unit: Mapped[str] = mapped_column(ForeignKey("unit.code"))
    channel: Mapped[int] = mapped_column(Integer)
    applicant: Mapped[dict] = mapped_column(JSONType, default=dict)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[int] = mapped_column(Integer)
    incident: Mapped[bool] = mapped_column(Boolean, default=False)
    incident_message: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    legal_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Intervals not counted against the deadline: [{"kind": "supplement"|"payment", "from", "to", ...}]
    paused: Mapped[list] = mapped_column(JSONType, default=list)
    # The apology and extension letter (once per dossier); legal_due_at keeps the legal date.
    apologized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    apology_reason: Mapped[str | None] = mapped_column(Text)
    # The citizen's consent to be told (issue 24, services/citizen_notices.py): the channels chosen
    # and the contacts given, {"channels": [...], "email", "phone"}; None: nothing is ever sent.
    notify: Mapped[dict | None] = mapped_column(JSONType)
    created_by: Mapped[str | None] = mapped_column(String(120))
    # The integrator whose key submitted the dossier (None: a desk, a schedule, or before issue 21):
    # only it acts for the citizen on it (withdraw, supplement, attachments: `access.may_act_for_citizen`).
    created_by_integrator_id: Mapped[int | None] = mapped_column(
        ForeignKey("integrator.id", ondelete="SET NULL", name="fk_dossier_created_by_integrator"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    # Folded code and applicant's name, ID number and phone (`text.dossier_search_text`), kept by
    # `_fold_search_text` on every write: what `GET /api/v1/dossiers?q=` compares.
    search_text: Mapped[str | None] = mapped_column(Text)

    # Steps read the version through services.versions (cached, immutable); load it only on demand.
    version: Mapped[ProcedureVersion] = relationship(lazy="select")

    __table_args__ = (
        Index("ix_dossier_province_status", "province_code", "status"),
        Index("ix_dossier_commune", "commune_code"),
        Index("ix_dossier_updated", "updated_at"),
        # Supervisors' statistics by province and period; open dossiers with their due dates.
        Index("ix_dossier_province_finished", "province_code", "finished_at"),
        Index("ix_dossier_province_received", "province_code", "received_at"),
        Index("ix_dossier_open_due", "province_code", "due_at", postgresql_where=text("finished_at IS NULL"),
              sqlite_where=text("finished_at IS NULL")),
        # A trigram index serves `%word%` on PostgreSQL (migration a190a1b2c3d4); a plain one elsewhere.
        Index("ix_dossier_search_text", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
    )

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]


def _nfc_applicant(applicant):
    """The applicant's text as entered by people, stored composed (NFC) whatever the keyboard sent."""
    if not isinstance(applicant, dict):
        return applicant
    return {k: nfc(v) if isinstance(v, str) else v for k, v in applicant.items()}


@event.listens_for(Dossier, "before_insert")
@event.listens_for(Dossier, "before_update")
def _fold_search_text(mapper, connection, dossier: Dossier) -> None:
    state = inspect(dossier)
    if state.persistent and not (state.attrs.applicant.history.has_changes()
                                 or state.attrs.code.history.has_changes()):
        return  # a status change: nothing searched has changed
    applicant = _nfc_applicant(dossier.applicant)
    if applicant != dossier.applicant:
        dossier.applicant = applicant
    dossier.search_text = dossier_search_text(dossier.code, applicant)


class DossierState(db.Model):
    """The serialised workflow, apart from the dossier row so its form can change."""

    __tablename__ = "dossier_state"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(Text)


class DossierParticipant(db.Model):
    """Units that take part in a dossier: who may see it."""

    __tablename__ = "dossier_participant"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"), primary_key=True, index=True)


class DossierCounter(db.Model):
    """Per receiving unit and day (Asia/Ho_Chi_Minh) counter behind dossier codes."""

    __tablename__ = "dossier_counter"

    unit_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[str] = mapped_column(String(6), primary_key=True)  # YYMMDD
    value: Mapped[int] = mapped_column(Integer)


OPEN, COMPLETED, CANCELLED = "open", "completed", "cancelled"


class WorkItem(db.Model):
    """A human task of a dossier, keyed by the engine task id; the inbox reads only this."""

    __tablename__ = "work_item"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[str] = mapped_column(String(200))
    step_name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"))
    role: Mapped[str] = mapped_column(String(20))
    form_key: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(10), default=OPEN)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(120))

    dossier: Mapped[Dossier] = relationship(lazy="select")  # usually already in the session
    assignee = relationship("User", lazy="joined")

    __table_args__ = (
        # Open items only, in the inbox's order (due_at ASC NULLS LAST, created_at, id): the first page
        # is read in index order and the counts are an index-only scan (assignee_id included).
        Index("ix_work_item_open_inbox", "unit_code", "role", "due_at", "created_at", "id",
              postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'"),
              postgresql_include=["assignee_id"]),
        Index("ix_work_item_assignee", "assignee_id", "state"),
        Index("ix_work_item_completed", "completed_at", postgresql_where=text("state = 'completed'"),
              sqlite_where=text("state = 'completed'")),
    )
