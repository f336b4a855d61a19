"""Bids on tasks and the milestones they propose."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from crowdsource.accounts.models import Organization, User
from crowdsource.db import LabelledEnum, UTCDateTime, db, enum_column_type, set_labels, utcnow
from crowdsource.tasks.models import Task


class BidStatus(LabelledEnum):
    SUBMITTED = "submitted"
    SHORTLISTED = "shortlisted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    #: the enterprise offered it the contract; its side has not answered yet
    OFFERED = "offered"
    #: its side declined the offer
    DECLINED = "declined"
    #: its side let the offer expire
    LAPSED = "lapsed"


set_labels(
    BidStatus,
    {
        BidStatus.SUBMITTED: _l("submitted"),
        BidStatus.SHORTLISTED: _l("shortlisted"),
        BidStatus.ACCEPTED: _l("accepted"),
        BidStatus.REJECTED: _l("not selected"),
        BidStatus.WITHDRAWN: _l("withdrawn"),
        BidStatus.OFFERED: _l("offered the contract"),
        BidStatus.DECLINED: _l("offer declined"),
        BidStatus.LAPSED: _l("offer expired"),
    },
)

LIVE_STATES = (BidStatus.SUBMITTED, BidStatus.SHORTLISTED)

BID_MOVES = {
    BidStatus.SUBMITTED: {
        BidStatus.SHORTLISTED,
        BidStatus.OFFERED,
        BidStatus.REJECTED,
        BidStatus.WITHDRAWN,
    },
    BidStatus.SHORTLISTED: {BidStatus.OFFERED, BidStatus.REJECTED, BidStatus.WITHDRAWN},
    # The offer is accepted (signed), declined, lets lapse, or withdrawn by the enterprise
    # (back on its shortlist), or the task is cancelled under it.
    BidStatus.OFFERED: {
        BidStatus.ACCEPTED,
        BidStatus.DECLINED,
        BidStatus.LAPSED,
        BidStatus.SHORTLISTED,
        BidStatus.REJECTED,
    },
}


class Bid(db.Model):
    """An offer to do a task: by an individual for themselves, or by an agency member for the
    agency, optionally for a payee institution with the agency's brokerage rate."""

    __tablename__ = "bids"
    __table_args__ = (
        sa.CheckConstraint("price_fen > 0", name="price_positive"),
        sa.CheckConstraint("duration_days > 0", name="duration_positive"),
        sa.CheckConstraint("brokerage_bps >= 0 AND brokerage_bps <= 10000", name="brokerage"),
        sa.CheckConstraint(
            "agency_id IS NOT NULL OR (payee_organization_id IS NULL AND brokerage_bps = 0)",
            name="payee_only_for_agencies",
        ),
        # One live bid per bidder (a user, or an agency) per task.
        sa.Index(
            "uq_bids_live_bidder",
            "task_id",
            "bidder_key",
            unique=True,
            sqlite_where=sa.text("status IN ('submitted', 'shortlisted')"),
            postgresql_where=sa.text("status IN ('submitted', 'shortlisted')"),
        ),
        sa.Index("ix_bids_task_id_status", "task_id", "status"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    task_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("tasks.id"))
    #: the person who placed the bid
    bidder_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    #: the agency bidding, or None for an individual bidding for themselves
    agency_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    #: "user:<id>" or "agency:<id>": who may hold only one live bid per task
    bidder_key: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    #: the institution to be paid, when an agency brokers for it
    payee_organization_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("organizations.id")
    )
    #: the agency's commission (转化佣金) in basis points of each released amount
    brokerage_bps: orm.Mapped[int] = orm.mapped_column(default=0)
    price_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    currency: orm.Mapped[str] = orm.mapped_column(sa.String(3), default="CNY")
    duration_days: orm.Mapped[int]
    #: Markdown, rendered through the sanitizer; never shown to other bidders
    proposal: orm.Mapped[str] = orm.mapped_column(sa.Text)
    status: orm.Mapped[BidStatus] = orm.mapped_column(
        enum_column_type(BidStatus, "status"), default=BidStatus.SUBMITTED
    )
    #: the enterprise's optional reason, told to the bidder
    rejection_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    updated_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    task: orm.Mapped[Task] = orm.relationship()
    bidder: orm.Mapped[User] = orm.relationship()
    agency: orm.Mapped[Organization | None] = orm.relationship(foreign_keys=[agency_id])
    payee_organization: orm.Mapped[Organization | None] = orm.relationship(
        foreign_keys=[payee_organization_id]
    )
    milestones: orm.Mapped[list["BidMilestone"]] = orm.relationship(
        back_populates="bid", order_by="BidMilestone.position", cascade="all, delete-orphan"
    )

    @property
    def is_live(self):
        return self.status in LIVE_STATES

    @property
    def bidder_side(self):
        """The people who speak for the bid: who placed it and, for an agency's bid, every
        member of the agency (they are all told what happens to it)."""
        people = [self.bidder]
        if self.agency is not None:
            people += self.agency.members
        return people

    @property
    def bidder_name(self):
        """Who bids, as people see it: the agency's name or the individual's."""
        return self.agency.name if self.agency else self.bidder.display_name

    def __repr__(self):
        return f"<Bid {self.id} task={self.task_id} {self.status}>"


class BidMilestone(db.Model):
    """A proposed milestone of a bid; the amounts of a bid's milestones sum to its price."""

    __tablename__ = "bid_milestones"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.UniqueConstraint("bid_id", "position"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    bid_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("bids.id"))
    position: orm.Mapped[int]
    title: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    amount_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    due_date: orm.Mapped[dt.date]

    bid: orm.Mapped[Bid] = orm.relationship(back_populates="milestones")


class BidMessage(db.Model):
    """A message of the private conversation about a bid, between the enterprise's members and
    the bidder's side; nobody else reads it while the bid is open. The winning bid's
    conversation stays on the contract as its pre-contract record."""

    __tablename__ = "bid_messages"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    bid_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("bids.id"), index=True)
    author_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    body: orm.Mapped[str] = orm.mapped_column(sa.Text)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    bid: orm.Mapped[Bid] = orm.relationship()
    author: orm.Mapped[User] = orm.relationship()
    files: orm.Mapped[list["BidFile"]] = orm.relationship(
        back_populates="message", order_by="BidFile.id"
    )


class BidFile(db.Model):
    """A file attached to a message about a bid: checked and stored like a contract's files,
    downloaded only by those who may read the conversation."""

    __tablename__ = "bid_files"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    message_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("bid_messages.id"), index=True)
    original_name: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    stored_name: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    content_type: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    size: orm.Mapped[int]
    uploaded_by_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    message: orm.Mapped[BidMessage] = orm.relationship(back_populates="files")


class BidThreadRead(db.Model):
    """Up to when a person has read the conversation of a bid (for the unread counts)."""

    __tablename__ = "bid_thread_reads"

    bid_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("bids.id"), primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    read_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
