"""Contracts made by awarding a bid, and their milestones."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from crowdsource.accounts.models import Center, Organization, User
from crowdsource.bids.models import Bid
from crowdsource.db import LabelledEnum, UTCDateTime, db, enum_column_type, set_labels, utcnow
from crowdsource.payments.commission import Rates, amount_due
from crowdsource.tasks.models import ContractType, IPTerms, Task


class ContractStatus(LabelledEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    IN_DISPUTE = "in_dispute"


class MilestoneStatus(LabelledEnum):
    PENDING = "pending"
    FUNDED = "funded"
    SUBMITTED = "submitted"
    RELEASED = "released"
    DISPUTED = "disputed"
    REFUNDED = "refunded"
    SPLIT = "split"
    CANCELLED = "cancelled"


set_labels(
    ContractStatus,
    {
        ContractStatus.ACTIVE: _l("active"),
        ContractStatus.COMPLETED: _l("completed"),
        ContractStatus.CANCELLED: _l("cancelled"),
        ContractStatus.IN_DISPUTE: _l("in dispute"),
    },
)
set_labels(
    MilestoneStatus,
    {
        MilestoneStatus.PENDING: _l("awaiting funding"),
        MilestoneStatus.FUNDED: _l("funded"),
        MilestoneStatus.SUBMITTED: _l("delivered, awaiting acceptance"),
        MilestoneStatus.RELEASED: _l("released"),
        MilestoneStatus.DISPUTED: _l("disputed"),
        MilestoneStatus.REFUNDED: _l("refunded"),
        MilestoneStatus.SPLIT: _l("split by ruling"),
        MilestoneStatus.CANCELLED: _l("cancelled before funding"),
    },
)

CONTRACT_MOVES = {
    ContractStatus.ACTIVE: {
        ContractStatus.COMPLETED,
        ContractStatus.CANCELLED,
        ContractStatus.IN_DISPUTE,
    },
    ContractStatus.IN_DISPUTE: {ContractStatus.ACTIVE, ContractStatus.COMPLETED},
}

MILESTONE_MOVES = {
    MilestoneStatus.PENDING: {MilestoneStatus.FUNDED, MilestoneStatus.CANCELLED},
    MilestoneStatus.FUNDED: {
        MilestoneStatus.SUBMITTED,
        MilestoneStatus.DISPUTED,
        MilestoneStatus.REFUNDED,
    },
    MilestoneStatus.SUBMITTED: {
        MilestoneStatus.RELEASED,
        MilestoneStatus.FUNDED,
        MilestoneStatus.DISPUTED,
        MilestoneStatus.REFUNDED,
    },
    MilestoneStatus.DISPUTED: {
        MilestoneStatus.RELEASED,
        MilestoneStatus.REFUNDED,
        MilestoneStatus.SPLIT,
    },
}

#: milestone states whose money is in escrow
ESCROWED_STATES = (MilestoneStatus.FUNDED, MilestoneStatus.SUBMITTED, MilestoneStatus.DISPUTED)
#: milestone states after which nothing more happens
SETTLED_STATES = (
    MilestoneStatus.RELEASED,
    MilestoneStatus.REFUNDED,
    MilestoneStatus.SPLIT,
    MilestoneStatus.CANCELLED,
)


class Side(LabelledEnum):
    """The two parties of a contract."""

    CLIENT = "client"
    SOLVER = "solver"


set_labels(Side, {Side.CLIENT: _l("the enterprise"), Side.SOLVER: _l("the solver's side")})


class Contract(db.Model):
    """The agreement between the enterprise and the winning bidder, numbered CS-<year>-<seq>."""

    __tablename__ = "contracts"
    __table_args__ = (
        sa.CheckConstraint("price_fen > 0", name="price_positive"),
        sa.CheckConstraint(
            "(payee_user_id IS NULL) <> (payee_organization_id IS NULL)", name="one_payee"
        ),
        sa.Index("uq_contracts_offer_id", "offer_id", unique=True),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: platform contract number, e.g. CS-2026-000123
    number: orm.Mapped[str] = orm.mapped_column(sa.String(20), unique=True)
    #: a task is awarded once
    task_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("tasks.id"), unique=True)
    bid_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("bids.id"), unique=True)
    #: the enterprise
    client_organization_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    #: the person who placed the winning bid
    solver_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    #: the agency that bid, if any
    agency_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    #: who is paid: an individual solver, or an organization (the agency or its institution)
    payee_user_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    payee_organization_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    brokerage_bps: orm.Mapped[int] = orm.mapped_column(default=0)
    center_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("centers.id"), index=True)
    contract_type: orm.Mapped[ContractType] = orm.mapped_column(
        enum_column_type(ContractType, "contract_type")
    )
    ip_terms: orm.Mapped[IPTerms] = orm.mapped_column(enum_column_type(IPTerms, "ip_terms"))
    price_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    currency: orm.Mapped[str] = orm.mapped_column(sa.String(3), default="CNY")
    #: the commission policy in force at the award, copied: later changes do not apply
    commission_bps: orm.Mapped[int] = orm.mapped_column(default=0, server_default="0")
    client_fee_bps: orm.Mapped[int] = orm.mapped_column(default=0, server_default="0")
    center_share_bps: orm.Mapped[int] = orm.mapped_column(default=0, server_default="0")
    status: orm.Mapped[ContractStatus] = orm.mapped_column(
        enum_column_type(ContractStatus, "status"), default=ContractStatus.ACTIVE
    )
    signed_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    completed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: a side's proposal to cancel the contract, waiting for the other side's consent
    cancel_requested_by: orm.Mapped[Side | None] = orm.mapped_column(
        enum_column_type(Side, "cancel_requested_by")
    )
    cancel_requested_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    cancel_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    #: the offer both sides signed (None for contracts formed before offers were signed)
    offer_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("offers.id"))

    task: orm.Mapped[Task] = orm.relationship()
    bid: orm.Mapped[Bid] = orm.relationship()
    offer: orm.Mapped["Offer | None"] = orm.relationship(foreign_keys=[offer_id])
    client_organization: orm.Mapped[Organization] = orm.relationship(
        foreign_keys=[client_organization_id]
    )
    solver: orm.Mapped[User] = orm.relationship(foreign_keys=[solver_id])
    agency: orm.Mapped[Organization | None] = orm.relationship(foreign_keys=[agency_id])
    payee_user: orm.Mapped[User | None] = orm.relationship(foreign_keys=[payee_user_id])
    payee_organization: orm.Mapped[Organization | None] = orm.relationship(
        foreign_keys=[payee_organization_id]
    )
    center: orm.Mapped[Center] = orm.relationship()
    milestones: orm.Mapped[list["Milestone"]] = orm.relationship(
        back_populates="contract", order_by="Milestone.position"
    )

    @property
    def rates(self):
        """The rates this contract settles by."""
        return Rates(
            commission_bps=self.commission_bps,
            brokerage_bps=self.brokerage_bps,
            center_share_bps=self.center_share_bps,
            client_fee_bps=self.client_fee_bps,
        )

    @property
    def payee_name(self):
        if self.payee_organization is not None:
            return self.payee_organization.name
        return self.payee_user.display_name


class Milestone(db.Model):
    __tablename__ = "milestones"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.UniqueConstraint("contract_id", "position"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    contract_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("contracts.id"))
    position: orm.Mapped[int]
    title: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    amount_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    due_date: orm.Mapped[dt.date]
    status: orm.Mapped[MilestoneStatus] = orm.mapped_column(
        enum_column_type(MilestoneStatus, "status"), default=MilestoneStatus.PENDING
    )
    funded_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the latest delivery: when, and what the solver's side wrote
    submitted_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    delivery_note: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    #: released automatically if the enterprise neither accepts nor disputes by then
    review_due_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime, index=True)
    #: the enterprise's latest request for changes
    change_request: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    settled_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: when the enterprise was reminded that the review period ends soon
    review_reminded_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: when the enterprise was reminded that the bank transfer's deadline is near, and told
    #: that it has passed (crowdsource.payments.transfers: each once)
    funding_reminded_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    funding_overdue_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    contract: orm.Mapped[Contract] = orm.relationship(back_populates="milestones")

    @property
    def due_fen(self):
        """What the enterprise pays into escrow: the amount plus the client-side fee."""
        return amount_due(self.amount_fen, self.contract.rates)


class ContractNumber(db.Model):
    """The last contract sequence number used in a year (numbers restart every year)."""

    __tablename__ = "contract_numbers"

    year: orm.Mapped[int] = orm.mapped_column(primary_key=True, autoincrement=False)
    last: orm.Mapped[int] = orm.mapped_column(default=0)


class Delivery(db.Model):
    """One delivery of a milestone by the solver's side: a message and files. A milestone may
    be delivered again after the enterprise asked for changes; every delivery is kept."""

    __tablename__ = "deliveries"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    milestone_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("milestones.id"), index=True)
    author_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    note: orm.Mapped[str] = orm.mapped_column(sa.Text)
    #: delivered on or before the milestone's due date (for the credit profile)
    on_time: orm.Mapped[bool] = orm.mapped_column(default=True)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    milestone: orm.Mapped[Milestone] = orm.relationship()
    author: orm.Mapped[User] = orm.relationship()
    files: orm.Mapped[list["ContractFile"]] = orm.relationship(
        primaryjoin="Delivery.id == foreign(ContractFile.delivery_id)", viewonly=True
    )


class ContractMessage(db.Model):
    """A message between the parties on a contract (both sides and the center's managers read
    them)."""

    __tablename__ = "contract_messages"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    contract_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("contracts.id"), index=True)
    author_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    body: orm.Mapped[str] = orm.mapped_column(sa.Text)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    author: orm.Mapped[User] = orm.relationship()
    files: orm.Mapped[list["ContractFile"]] = orm.relationship(
        primaryjoin="ContractMessage.id == foreign(ContractFile.message_id)", viewonly=True
    )


class ContractFile(db.Model):
    """A file on a contract: attached to a delivery, a message or a dispute's entry; stored
    outside the static folder under a generated name, downloaded only by those who may see the
    contract."""

    __tablename__ = "contract_files"
    __table_args__ = (
        sa.CheckConstraint(
            "(CASE WHEN delivery_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN message_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN dispute_entry_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="attached_to_one",
        ),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    contract_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("contracts.id"), index=True)
    delivery_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("deliveries.id"), index=True
    )
    message_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("contract_messages.id"), index=True
    )
    dispute_entry_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("dispute_entries.id"), index=True
    )
    original_name: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    stored_name: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    content_type: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    size: orm.Mapped[int]
    uploaded_by_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    contract: orm.Mapped[Contract] = orm.relationship()


class Rating(db.Model):
    """One side's rating of the other after a completed contract (1–5 and a comment). Shown
    once both sides have rated, or 14 days after the contract completed."""

    __tablename__ = "ratings"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "rater_side"),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_1_to_5"),
        sa.CheckConstraint(
            "(rated_user_id IS NULL) <> (rated_organization_id IS NULL)", name="one_rated"
        ),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    contract_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("contracts.id"), index=True)
    rater_side: orm.Mapped[Side] = orm.mapped_column(enum_column_type(Side, "rater_side"))
    rater_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    #: who is rated: the enterprise, or the solver's side (the agency, else the solver)
    rated_user_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    rated_organization_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    score: orm.Mapped[int]
    comment: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: when it became visible (both rated, or 14 days passed); None while hidden
    visible_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime, index=True)

    contract: orm.Mapped[Contract] = orm.relationship()
    rater: orm.Mapped[User] = orm.relationship(foreign_keys=[rater_id])

    @property
    def rater_party_name(self):
        """Whom the rater rated for, as a profile shows it: the enterprise, or the solver's side
        (the agency, else the payee organization, else the solver)."""
        contract = self.contract
        if self.rater_side == Side.CLIENT:
            return contract.client_organization.name
        party = contract.agency or contract.payee_organization
        return party.name if party is not None else contract.solver.display_name


class OfferStatus(LabelledEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


set_labels(
    OfferStatus,
    {
        OfferStatus.OPEN: _l("waiting for the winner's signature"),
        OfferStatus.ACCEPTED: _l("accepted and signed"),
        OfferStatus.DECLINED: _l("declined"),
        OfferStatus.EXPIRED: _l("expired unanswered"),
        OfferStatus.WITHDRAWN: _l("withdrawn by the enterprise"),
    },
)

OFFER_MOVES = {
    OfferStatus.OPEN: {
        OfferStatus.ACCEPTED,
        OfferStatus.DECLINED,
        OfferStatus.EXPIRED,
        OfferStatus.WITHDRAWN,
    },
}


class Offer(db.Model):
    """The enterprise's offer of the contract to one bid, signed by the enterprise when made;
    the contract is formed when the winning side signs it too (``contract_signing`` holds the
    document both sign). One offer of a task is open at a time."""

    __tablename__ = "offers"
    __table_args__ = (
        sa.Index(
            "uq_offers_open_task",
            "task_id",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    task_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("tasks.id"), index=True)
    bid_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("bids.id"), index=True)
    status: orm.Mapped[OfferStatus] = orm.mapped_column(
        enum_column_type(OfferStatus, "status"), default=OfferStatus.OPEN
    )
    offered_by_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: the winning side must sign before then (OFFER_DAYS after the offer)
    expires_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, index=True)
    #: when the winning side was reminded that the offer ends soon
    reminded_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    decided_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    decided_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: why the winning side declined, or why the enterprise withdrew the offer
    reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    #: the commission policy in force at the offer: the terms both sides sign
    commission_bps: orm.Mapped[int]
    client_fee_bps: orm.Mapped[int]
    center_share_bps: orm.Mapped[int]
    #: the contract document offered, as both sides sign it (canonical JSON, contracts.signing)
    document: orm.Mapped[str] = orm.mapped_column(sa.Text)
    #: its SHA-256 (hex)
    document_sha256: orm.Mapped[str] = orm.mapped_column(sa.String(64))

    task: orm.Mapped[Task] = orm.relationship()
    bid: orm.Mapped[Bid] = orm.relationship()
    offered_by: orm.Mapped[User] = orm.relationship(foreign_keys=[offered_by_id])
    decided_by: orm.Mapped[User | None] = orm.relationship(foreign_keys=[decided_by_id])
    signatures: orm.Mapped[list["Signature"]] = orm.relationship(
        back_populates="offer", order_by="Signature.signed_at"
    )
    #: the contract formed when the winning side signed
    contract: orm.Mapped[Contract | None] = orm.relationship(
        primaryjoin="Offer.id == foreign(Contract.offer_id)", viewonly=True, uselist=False
    )

    @property
    def rates(self):
        return Rates(
            commission_bps=self.commission_bps,
            brokerage_bps=self.bid.brokerage_bps if self.bid.payee_organization_id else 0,
            center_share_bps=self.center_share_bps,
            client_fee_bps=self.client_fee_bps,
        )

    def signature_of(self, side):
        return next((s for s in self.signatures if s.side == side), None)


class Signature(db.Model):
    """One side's signature of an offer's contract document: who, when, from which address,
    and the SHA-256 of the document they signed."""

    __tablename__ = "signatures"
    __table_args__ = (sa.UniqueConstraint("offer_id", "side"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    offer_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("offers.id"))
    side: orm.Mapped[Side] = orm.mapped_column(enum_column_type(Side, "side"))
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    signed_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    #: the client's address as the app saw it (behind the proxy: the forwarded one)
    ip_address: orm.Mapped[str] = orm.mapped_column(sa.String(45))
    user_agent: orm.Mapped[str] = orm.mapped_column(sa.String(255), default="")
    document_sha256: orm.Mapped[str] = orm.mapped_column(sa.String(64))

    offer: orm.Mapped[Offer] = orm.relationship(back_populates="signatures")
    user: orm.Mapped[User] = orm.relationship()
