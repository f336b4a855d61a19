"""Disputes over a milestone's escrow, their thread of evidence and messages, and rulings.

Lifecycle (design.md): ``open → responded → under_review → ruled → final``, or ``ruled →
appealed → ruled_on_appeal → final``. An open case whose respondent let the deadline pass goes
to review without a response. A ruling splits the disputed escrow; money moves once, when the
case becomes final.
"""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from crowdsource.accounts.models import Center, User
from crowdsource.contracts.models import Contract, Milestone, Side
from crowdsource.db import LabelledEnum, UTCDateTime, db, enum_column_type, set_labels, utcnow


class DisputeStatus(LabelledEnum):
    OPEN = "open"
    RESPONDED = "responded"
    UNDER_REVIEW = "under_review"
    RULED = "ruled"
    APPEALED = "appealed"
    RULED_ON_APPEAL = "ruled_on_appeal"
    FINAL = "final"


set_labels(
    DisputeStatus,
    {
        DisputeStatus.OPEN: _l("waiting for the response"),
        DisputeStatus.RESPONDED: _l("responded, waiting for a manager"),
        DisputeStatus.UNDER_REVIEW: _l("under review"),
        DisputeStatus.RULED: _l("ruled, open to appeal"),
        DisputeStatus.APPEALED: _l("appealed"),
        DisputeStatus.RULED_ON_APPEAL: _l("ruled on appeal"),
        DisputeStatus.FINAL: _l("final"),
    },
)

DISPUTE_MOVES = {
    DisputeStatus.OPEN: {DisputeStatus.RESPONDED, DisputeStatus.UNDER_REVIEW},
    DisputeStatus.RESPONDED: {DisputeStatus.UNDER_REVIEW},
    DisputeStatus.UNDER_REVIEW: {DisputeStatus.RULED},
    DisputeStatus.RULED: {DisputeStatus.APPEALED, DisputeStatus.FINAL},
    DisputeStatus.APPEALED: {DisputeStatus.RULED_ON_APPEAL},
    DisputeStatus.RULED_ON_APPEAL: {DisputeStatus.FINAL},
}

#: states in which the case is not decided for good
UNDECIDED_STATES = (
    DisputeStatus.OPEN,
    DisputeStatus.RESPONDED,
    DisputeStatus.UNDER_REVIEW,
    DisputeStatus.RULED,
    DisputeStatus.APPEALED,
)


class Dispute(db.Model):
    """A party's dispute over one milestone's escrow (at most one per milestone)."""

    __tablename__ = "disputes"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    milestone_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("milestones.id"), unique=True)
    contract_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("contracts.id"), index=True)
    #: the task's center: its managers (and those of the centers above) arbitrate
    center_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("centers.id"), index=True)
    status: orm.Mapped[DisputeStatus] = orm.mapped_column(
        enum_column_type(DisputeStatus, "status"), default=DisputeStatus.OPEN, index=True
    )
    opened_by_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    opened_by_side: orm.Mapped[Side] = orm.mapped_column(enum_column_type(Side, "opened_by_side"))
    reason: orm.Mapped[str] = orm.mapped_column(sa.Text)
    #: the escrow under dispute (the milestone's amount plus any client-side fee)
    amount_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    opened_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: the other party answers by then, else the case goes to review without an answer
    respond_by: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, index=True)
    responded_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the manager who took the case
    manager_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    taken_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the ruling may be appealed until then; both parties may waive the appeal sooner
    appeal_due_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime, index=True)
    client_waived_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    solver_waived_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    appealed_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    appeal_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    appealed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the center whose managers hear the appeal (the parent of the case's center)
    appeal_center_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("centers.id"))
    appeal_manager_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    final_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the side that lost the final ruling (got less than half), for credit profiles
    lost_by_side: orm.Mapped[Side | None] = orm.mapped_column(
        enum_column_type(Side, "lost_by_side")
    )
    #: reminders already sent (so the sweep sends each once)
    response_reminded_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    appeal_reminded_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    milestone: orm.Mapped[Milestone] = orm.relationship()
    contract: orm.Mapped[Contract] = orm.relationship()
    center: orm.Mapped[Center] = orm.relationship(foreign_keys=[center_id])
    appeal_center: orm.Mapped[Center | None] = orm.relationship(foreign_keys=[appeal_center_id])
    opened_by: orm.Mapped[User] = orm.relationship(foreign_keys=[opened_by_id])
    manager: orm.Mapped[User | None] = orm.relationship(foreign_keys=[manager_id])
    appeal_manager: orm.Mapped[User | None] = orm.relationship(foreign_keys=[appeal_manager_id])
    appealed_by: orm.Mapped[User | None] = orm.relationship(foreign_keys=[appealed_by_id])
    entries: orm.Mapped[list["DisputeEntry"]] = orm.relationship(
        back_populates="dispute", order_by="DisputeEntry.id"
    )
    rulings: orm.Mapped[list["Ruling"]] = orm.relationship(
        back_populates="dispute", order_by="Ruling.id"
    )

    @property
    def respondent_side(self):
        return Side.SOLVER if self.opened_by_side == Side.CLIENT else Side.CLIENT

    @property
    def awaits_response(self):
        """The respondent still may answer (the case has not gone to the managers)."""
        return self.status == DisputeStatus.OPEN

    @property
    def ruling_pending(self):
        """A first ruling stands, neither final nor appealed: the appeal window's time."""
        return self.status == DisputeStatus.RULED

    @property
    def is_final(self):
        return self.status == DisputeStatus.FINAL

    @property
    def on_appeal(self):
        """The case is before the parent center (appealed, or ruled on appeal)."""
        return self.status in (DisputeStatus.APPEALED, DisputeStatus.RULED_ON_APPEAL)

    @property
    def hearing_center(self):
        """The center whose managers decide now: the appeal's center once appealed."""
        return self.appeal_center if self.on_appeal else self.center

    @property
    def hearing_manager(self):
        """The manager who took the case at the hearing center, or None."""
        return self.appeal_manager if self.on_appeal else self.manager

    @property
    def ruling(self):
        """The ruling in force: the appeal's if there is one, else the first."""
        return self.rulings[-1] if self.rulings else None


class EntryKind(LabelledEnum):
    EVIDENCE = "evidence"
    RESPONSE = "response"
    INFO_REQUEST = "info_request"
    MESSAGE = "message"


set_labels(
    EntryKind,
    {
        EntryKind.EVIDENCE: _l("reason and evidence"),
        EntryKind.RESPONSE: _l("response"),
        EntryKind.INFO_REQUEST: _l("request for information"),
        EntryKind.MESSAGE: _l("message"),
    },
)


class DisputeEntry(db.Model):
    """One post in a dispute's thread: the opener's evidence, the response, a manager's request
    for information (addressed to a side), or a message; files attach to it."""

    __tablename__ = "dispute_entries"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    dispute_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("disputes.id"), index=True)
    author_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    kind: orm.Mapped[EntryKind] = orm.mapped_column(enum_column_type(EntryKind, "kind"))
    #: for a request for information: the side asked
    addressed_to: orm.Mapped[Side | None] = orm.mapped_column(
        enum_column_type(Side, "addressed_to")
    )
    body: orm.Mapped[str] = orm.mapped_column(sa.Text)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    dispute: orm.Mapped[Dispute] = orm.relationship(back_populates="entries")
    author: orm.Mapped[User] = orm.relationship()


class RulingStage(LabelledEnum):
    FIRST = "first"
    APPEAL = "appeal"


set_labels(RulingStage, {RulingStage.FIRST: _l("ruling"), RulingStage.APPEAL: _l("appeal ruling")})


class Ruling(db.Model):
    """A manager's decision: how much of the disputed escrow is released to the payee and how
    much is refunded to the enterprise (the two sum to the disputed escrow). One per stage."""

    __tablename__ = "rulings"
    __table_args__ = (
        sa.UniqueConstraint("dispute_id", "stage"),
        sa.CheckConstraint("release_fen >= 0 AND refund_fen >= 0", name="amounts_not_negative"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    dispute_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("disputes.id"))
    stage: orm.Mapped[RulingStage] = orm.mapped_column(enum_column_type(RulingStage, "stage"))
    manager_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    release_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    refund_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    reason: orm.Mapped[str] = orm.mapped_column(sa.Text)
    #: on appeal: whether the first ruling was upheld (True) or replaced
    upheld: orm.Mapped[bool | None]
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    dispute: orm.Mapped[Dispute] = orm.relationship(back_populates="rulings")
    manager: orm.Mapped[User] = orm.relationship()
