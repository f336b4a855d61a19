"""Money tables: the double-entry ledger (accounts, journal entries, postings), commission
policies, fundings (money coming in through a provider), payout requests and the payout details
(bank accounts) payees save to choose from when they ask for a payout.

Ledger rows are append-only: no code updates or deletes an entry or a posting, and the
database refuses it (triggers in crowdsource.payments.ddl). An account's cached balance is
maintained by the database from its postings and may never go negative unless the account is
an external clearing account.
"""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from crowdsource.accounts.models import Center, Organization, User
from crowdsource.db import LabelledEnum, UTCDateTime, db, enum_column_type, set_labels, utcnow
from crowdsource.tasks.models import ContractType


class AccountKind(LabelledEnum):
    CLEARING = "clearing"
    ESCROW = "escrow"
    PAYABLE = "payable"
    REVENUE = "revenue"


set_labels(
    AccountKind,
    {
        AccountKind.CLEARING: _l("clearing"),
        AccountKind.ESCROW: _l("escrow"),
        AccountKind.PAYABLE: _l("payable"),
        AccountKind.REVENUE: _l("revenue"),
    },
)


class LedgerAccount(db.Model):
    """An account of the ledger, named by a code such as ``escrow:milestone:42``."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        sa.CheckConstraint("allow_negative OR balance >= 0", name="balance_not_negative"),
        sa.CheckConstraint("allow_negative = (kind = 'clearing')", name="only_clearing_negative"),
        # Postings reference (id, currency): a posting's currency is its account's.
        sa.UniqueConstraint("id", "currency"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: e.g. clearing:bank, escrow:milestone:42, payable:contract:7:payee, revenue:commission
    code: orm.Mapped[str] = orm.mapped_column(sa.String(80), unique=True)
    kind: orm.Mapped[AccountKind] = orm.mapped_column(enum_column_type(AccountKind, "kind"))
    currency: orm.Mapped[str] = orm.mapped_column(sa.String(3))
    #: only external clearing accounts may go negative (money outside the platform)
    allow_negative: orm.Mapped[bool] = orm.mapped_column(default=False)
    #: sum of the account's postings, kept by the database when a posting is inserted
    balance: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, default=0)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self):
        return f"<LedgerAccount {self.code} {self.balance}>"


class JournalEntry(db.Model):
    """One movement of money: two or more postings summing to zero per currency."""

    __tablename__ = "journal_entries"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: derived from the business event ("release:milestone:42"): the same event never posts
    #: twice
    idempotency_key: orm.Mapped[str] = orm.mapped_column(sa.String(120), unique=True)
    #: what kind of movement: fund, release, refund, payout, …
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(20), index=True)
    description: orm.Mapped[str] = orm.mapped_column(sa.String(300), default="")
    #: the contract and milestone the money belongs to, when there are
    contract_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("contracts.id"), index=True
    )
    milestone_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("milestones.id"), index=True
    )
    #: who caused it (None: the system — the sweep, a provider)
    actor_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    postings: orm.Mapped[list["Posting"]] = orm.relationship(
        back_populates="entry", order_by="Posting.id"
    )
    actor: orm.Mapped[User | None] = orm.relationship()


class Posting(db.Model):
    """A signed amount on one account, part of one journal entry."""

    __tablename__ = "postings"
    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="amount_not_zero"),
        sa.ForeignKeyConstraint(
            ["account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_postings_account_currency",
        ),
        sa.Index("ix_postings_account_id_id", "account_id", "id"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    entry_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("journal_entries.id"), index=True)
    account_id: orm.Mapped[int] = orm.mapped_column()
    #: minor units (fen); positive adds to the account's balance, negative takes from it
    amount: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    currency: orm.Mapped[str] = orm.mapped_column(sa.String(3))

    entry: orm.Mapped[JournalEntry] = orm.relationship(back_populates="postings")
    account: orm.Mapped[LedgerAccount] = orm.relationship(
        foreign_keys=[account_id],
        primaryjoin="Posting.account_id == LedgerAccount.id",
        viewonly=True,
    )


class CommissionPolicy(db.Model):
    """Rates in basis points for a scope: the platform default, a center (and its subtree),
    optionally for one contract type. The most specific policy applies; a contract keeps a
    copy of the one in force when it was awarded."""

    __tablename__ = "commission_policies"
    __table_args__ = (
        sa.UniqueConstraint("scope"),
        sa.CheckConstraint("commission_bps BETWEEN 0 AND 5000", name="commission_range"),
        sa.CheckConstraint("client_fee_bps BETWEEN 0 AND 5000", name="client_fee_range"),
        sa.CheckConstraint("center_share_bps BETWEEN 0 AND 5000", name="center_share_range"),
        sa.CheckConstraint("max_brokerage_bps BETWEEN 0 AND 5000", name="brokerage_range"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: "<center id or *>:<contract type or *>", unique
    scope: orm.Mapped[str] = orm.mapped_column(sa.String(60))
    center_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("centers.id"))
    contract_type: orm.Mapped[ContractType | None] = orm.mapped_column(
        enum_column_type(ContractType, "contract_type")
    )
    #: platform commission, taken from the payee's side of each released amount
    commission_bps: orm.Mapped[int]
    #: fee added on top of each milestone when the enterprise funds it
    client_fee_bps: orm.Mapped[int] = orm.mapped_column(default=0)
    #: share of each released amount for the contract's innovation center
    center_share_bps: orm.Mapped[int] = orm.mapped_column(default=0)
    #: the highest agency brokerage (转化佣金) a bid may name
    max_brokerage_bps: orm.Mapped[int]
    updated_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    updated_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    center: orm.Mapped[Center | None] = orm.relationship()


class FundingStatus(LabelledEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


set_labels(
    FundingStatus,
    {
        FundingStatus.PENDING: _l("awaiting payment"),
        FundingStatus.CONFIRMED: _l("received"),
        FundingStatus.CANCELLED: _l("cancelled"),
    },
)

FUNDING_MOVES = {FundingStatus.PENDING: {FundingStatus.CONFIRMED, FundingStatus.CANCELLED}}


class Funding(db.Model):
    """An enterprise's payment of a milestone into escrow through a provider."""

    __tablename__ = "fundings"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.Index(
            "uq_fundings_pending_milestone",
            "milestone_id",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    milestone_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("milestones.id"), index=True)
    #: "manual" (bank transfer) or "stripe"
    provider: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    #: the code the enterprise writes on its bank transfer
    reference: orm.Mapped[str] = orm.mapped_column(sa.String(40), unique=True)
    #: what must arrive: the milestone amount plus the client-side fee
    amount_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    currency: orm.Mapped[str] = orm.mapped_column(sa.String(3), default="CNY")
    status: orm.Mapped[FundingStatus] = orm.mapped_column(
        enum_column_type(FundingStatus, "status"), default=FundingStatus.PENDING
    )
    created_by_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    confirmed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the bank's or provider's reference of the received payment
    external_reference: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    #: card payments: the Checkout Session, its PaymentIntent, the page the payer goes to, and
    #: the attempt number that makes the session's idempotency key
    stripe_session_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(100), unique=True)
    stripe_payment_intent_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(100), index=True)
    checkout_url: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    attempt: orm.Mapped[int] = orm.mapped_column(default=1, server_default="1")
    #: why the provider could not be reached, shown while the funding waits
    failure_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)

    milestone = orm.relationship("Milestone")
    created_by: orm.Mapped[User] = orm.relationship(foreign_keys=[created_by_id])
    confirmed_by: orm.Mapped[User | None] = orm.relationship(foreign_keys=[confirmed_by_id])


class TransferReportStatus(LabelledEnum):
    REPORTED = "reported"
    REPLACED = "replaced"
    REJECTED = "rejected"
    CONFIRMED = "confirmed"


set_labels(
    TransferReportStatus,
    {
        TransferReportStatus.REPORTED: _l("reported"),
        TransferReportStatus.REPLACED: _l("replaced"),
        TransferReportStatus.REJECTED: _l("rejected"),
        TransferReportStatus.CONFIRMED: _l("confirmed"),
    },
)

#: a report waits for the manager, who confirms the money received or rejects it; until then
#: the enterprise may replace it by a new one
TRANSFER_REPORT_MOVES = {
    TransferReportStatus.REPORTED: {
        TransferReportStatus.REPLACED,
        TransferReportStatus.REJECTED,
        TransferReportStatus.CONFIRMED,
    }
}


class TransferReport(db.Model):
    """The enterprise's word that it made the bank transfer of a funding, with the bank's
    receipt (银行回单). It moves no money: a manager's confirmation of the amount received
    does (crowdsource.payments.funding.confirm_bank_transfer)."""

    __tablename__ = "transfer_reports"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.Index(
            "uq_transfer_reports_open_funding",
            "funding_id",
            unique=True,
            sqlite_where=sa.text("status = 'reported'"),
            postgresql_where=sa.text("status = 'reported'"),
        ),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    funding_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("fundings.id"), index=True)
    #: what the enterprise says it transferred, and on which (local) date
    amount_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    transferred_on: orm.Mapped[dt.date]
    #: the receipt, stored under a generated name in the upload folder (crowdsource.uploads)
    receipt_name: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    receipt_stored_name: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    receipt_content_type: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    receipt_size: orm.Mapped[int]
    status: orm.Mapped[TransferReportStatus] = orm.mapped_column(
        enum_column_type(TransferReportStatus, "status"), default=TransferReportStatus.REPORTED
    )
    reported_by_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    reported_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: the manager's answer: who, when, and why a report was rejected
    decided_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    decided_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    rejection_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)

    funding: orm.Mapped[Funding] = orm.relationship()
    reported_by: orm.Mapped[User] = orm.relationship(foreign_keys=[reported_by_id])

    @property
    def is_image(self):
        return self.receipt_content_type.startswith("image/")


class PayoutStatus(LabelledEnum):
    REQUESTED = "requested"
    PROCESSING = "processing"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


set_labels(
    PayoutStatus,
    {
        PayoutStatus.REQUESTED: _l("requested"),
        PayoutStatus.PROCESSING: _l("being sent"),
        PayoutStatus.SENT: _l("sent"),
        PayoutStatus.FAILED: _l("failed"),
        PayoutStatus.CANCELLED: _l("cancelled"),
    },
)

PAYOUT_MOVES = {
    PayoutStatus.REQUESTED: {
        PayoutStatus.SENT,
        PayoutStatus.CANCELLED,
        PayoutStatus.PROCESSING,
        PayoutStatus.FAILED,
    },
    PayoutStatus.PROCESSING: {PayoutStatus.SENT, PayoutStatus.FAILED},
}


def masked_number(number):
    """An account number as shown once entered: only its last four digits ("•••• 6789")."""
    return "•••• " + (number or "")[-4:]


class PayoutDetails(db.Model):
    """A bank account a person or an organization saved for its payouts. A payout request
    copies the details it chose, so editing or removing them later changes no earlier payout."""

    __tablename__ = "payout_details"
    __table_args__ = (
        sa.CheckConstraint("(user_id IS NULL) <> (organization_id IS NULL)", name="one_owner"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: whose account it is: a person (for payouts to themselves) or an organization
    user_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    organization_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    bank_account_name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    bank_name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    #: digits only, as the payee typed them without spaces or dashes
    bank_account_number: orm.Mapped[str] = orm.mapped_column(sa.String(60))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    updated_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    user: orm.Mapped[User | None] = orm.relationship()
    organization: orm.Mapped[Organization | None] = orm.relationship()

    @property
    def masked_number(self):
        return masked_number(self.bank_account_number)


#: a payout not yet sent nor failed: at most one per account
OPEN_PAYOUT_STATES = (PayoutStatus.REQUESTED, PayoutStatus.PROCESSING)


class Payout(db.Model):
    """A payee's request to be paid its payable balance of a contract, and its sending."""

    __tablename__ = "payouts"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.Index(
            "uq_payouts_open_account",
            "account_id",
            unique=True,
            sqlite_where=sa.text("status IN ('requested', 'processing')"),
            postgresql_where=sa.text("status IN ('requested', 'processing')"),
        ),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    account_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("ledger_accounts.id"))
    contract_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("contracts.id"), index=True)
    amount_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    currency: orm.Mapped[str] = orm.mapped_column(sa.String(3), default="CNY")
    #: where to send the money, as the payee gave it
    bank_account_name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    bank_name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    bank_account_number: orm.Mapped[str] = orm.mapped_column(sa.String(60))
    #: the saved details the payee chose (their values are copied above), if any
    payout_details_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("payout_details.id", ondelete="SET NULL")
    )
    status: orm.Mapped[PayoutStatus] = orm.mapped_column(
        enum_column_type(PayoutStatus, "status"), default=PayoutStatus.REQUESTED
    )
    requested_by_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    requested_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    sent_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    sent_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the bank's reference of the transfer sent
    bank_reference: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    #: "manual" (a manager sends a bank transfer) or "stripe" (a Transfer to a connected account)
    provider: orm.Mapped[str] = orm.mapped_column(
        sa.String(20), default="manual", server_default="manual"
    )
    stripe_transfer_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(100), unique=True)
    #: why the last attempt failed or is waiting, shown to the payee
    failure_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    #: when a job last tried to send it through Stripe (the sweep retries stale ones)
    last_attempt_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    account: orm.Mapped[LedgerAccount] = orm.relationship()
    contract = orm.relationship("Contract")
    requested_by: orm.Mapped[User] = orm.relationship(foreign_keys=[requested_by_id])

    @property
    def masked_number(self):
        """The account number as the payee's side sees it after the request."""
        return masked_number(self.bank_account_number)


class StripeEventStatus(LabelledEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    DEFERRED = "deferred"
    IGNORED = "ignored"
    FAILED = "failed"


set_labels(
    StripeEventStatus,
    {
        StripeEventStatus.RECEIVED: _l("received"),
        StripeEventStatus.PROCESSED: _l("processed"),
        StripeEventStatus.DEFERRED: _l("waiting for an earlier event"),
        StripeEventStatus.IGNORED: _l("ignored"),
        StripeEventStatus.FAILED: _l("failed"),
    },
)


#: a received event is processed, ignored, deferred (waiting for an earlier one) or fails; a
#: deferred or failed one is tried again
STRIPE_EVENT_MOVES = {
    StripeEventStatus.RECEIVED: {
        StripeEventStatus.PROCESSED,
        StripeEventStatus.DEFERRED,
        StripeEventStatus.IGNORED,
        StripeEventStatus.FAILED,
    },
    StripeEventStatus.DEFERRED: {
        StripeEventStatus.PROCESSED,
        StripeEventStatus.IGNORED,
        StripeEventStatus.FAILED,
    },
    StripeEventStatus.FAILED: {
        StripeEventStatus.PROCESSED,
        StripeEventStatus.DEFERRED,
        StripeEventStatus.IGNORED,
    },
}


class StripeEvent(db.Model):
    """A webhook event from Stripe, stored once (by its id) and processed by a job."""

    __tablename__ = "stripe_events"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: Stripe's event id, evt_…: a redelivered event is the same row
    event_id: orm.Mapped[str] = orm.mapped_column(sa.String(100), unique=True)
    type: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    #: the verified JSON body
    payload: orm.Mapped[str] = orm.mapped_column(sa.Text)
    status: orm.Mapped[StripeEventStatus] = orm.mapped_column(
        enum_column_type(StripeEventStatus, "status"), default=StripeEventStatus.RECEIVED
    )
    attempts: orm.Mapped[int] = orm.mapped_column(default=0)
    #: what processing said: why it waits, was ignored or failed
    note: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    received_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    processed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)


class StripeAccount(db.Model):
    """A payee's Stripe Express account (a user's, or an organization's) for payouts."""

    __tablename__ = "stripe_accounts"
    __table_args__ = (
        sa.CheckConstraint(
            "(user_id IS NULL) <> (organization_id IS NULL)", name="user_or_organization"
        ),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: acct_…
    account_id: orm.Mapped[str] = orm.mapped_column(sa.String(100), unique=True)
    user_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"), unique=True)
    organization_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), unique=True
    )
    #: Stripe says the account can receive payouts (set by account.updated)
    payouts_enabled: orm.Mapped[bool] = orm.mapped_column(default=False)
    details_submitted: orm.Mapped[bool] = orm.mapped_column(default=False)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    updated_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)


class CardRefundStatus(LabelledEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


set_labels(
    CardRefundStatus,
    {
        CardRefundStatus.PENDING: _l("waiting for Stripe"),
        CardRefundStatus.SUCCEEDED: _l("refunded to the card"),
        CardRefundStatus.FAILED: _l("failed"),
    },
)


#: a refund Stripe refused may still be confirmed later (its charge.refunded event)
CARD_REFUND_MOVES = {
    CardRefundStatus.PENDING: {CardRefundStatus.SUCCEEDED, CardRefundStatus.FAILED},
    CardRefundStatus.FAILED: {CardRefundStatus.SUCCEEDED},
}


class CardRefund(db.Model):
    """The refund of a card-paid milestone's escrow: a Stripe Refund of the original payment.
    The ledger moves only when Stripe confirms it."""

    __tablename__ = "card_refunds"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    milestone_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("milestones.id"), unique=True)
    funding_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("fundings.id"))
    amount_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    status: orm.Mapped[CardRefundStatus] = orm.mapped_column(
        enum_column_type(CardRefundStatus, "status"), default=CardRefundStatus.PENDING
    )
    stripe_refund_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(100), unique=True)
    failure_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: when a job last asked Stripe (the sweep retries stale ones)
    last_attempt_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    settled_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    funding: orm.Mapped[Funding] = orm.relationship()
