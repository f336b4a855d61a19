"""In-app notifications: what happened, for whom, and whether they have seen it."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from crowdsource.db import LabelledEnum, UTCDateTime, db, enum_column_type, utcnow


class Kind(LabelledEnum):
    QUESTION_ASKED = "question_asked"
    QUESTION_ANSWERED = "question_answered"
    BID_SUBMITTED = "bid_submitted"
    BID_SHORTLISTED = "bid_shortlisted"
    BID_REJECTED = "bid_rejected"
    BID_AWARDED = "bid_awarded"
    BIDDING_CLOSED = "bidding_closed"
    TASK_EXPIRED = "task_expired"
    TASK_CANCELLED = "task_cancelled"
    MILESTONE_FUNDED = "milestone_funded"
    DELIVERY_SUBMITTED = "delivery_submitted"
    CHANGES_REQUESTED = "changes_requested"
    MILESTONE_RELEASED = "milestone_released"
    CANCELLATION_REQUESTED = "cancellation_requested"
    CONTRACT_CANCELLED = "contract_cancelled"
    PAYOUT_SENT = "payout_sent"
    REVIEW_ENDING = "review_ending"
    CONTRACT_MESSAGE = "contract_message"
    RATING_RECEIVED = "rating_received"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_RESPONDED = "dispute_responded"
    DISPUTE_TO_REVIEW = "dispute_to_review"
    DISPUTE_TAKEN = "dispute_taken"
    DISPUTE_INFO_REQUESTED = "dispute_info_requested"
    DISPUTE_MESSAGE = "dispute_message"
    DISPUTE_RULED = "dispute_ruled"
    DISPUTE_APPEALED = "dispute_appealed"
    DISPUTE_FINAL = "dispute_final"
    DISPUTE_DEADLINE = "dispute_deadline"
    OFFER_RECEIVED = "offer_received"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_DECLINED = "offer_declined"
    OFFER_WITHDRAWN = "offer_withdrawn"
    OFFER_EXPIRED = "offer_expired"
    OFFER_ENDING = "offer_ending"
    BID_MESSAGE = "bid_message"
    SAVED_SEARCH_MATCHES = "saved_search_matches"
    PORTFOLIO_PROPOSED = "portfolio_proposed"
    FUNDING_DUE_SOON = "funding_due_soon"
    FUNDING_OVERDUE = "funding_overdue"
    TRANSFER_REJECTED = "transfer_rejected"


#: the parameter of a digest notification: how many further notifications of its kind it
#: stands for (text, like every count), beside the values of the latest of them
DIGEST_COUNT = "digest_count"


class Notification(db.Model):
    """Something a user should know; its text is rendered in the reader's language."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    kind: orm.Mapped[Kind] = orm.mapped_column(enum_column_type(Kind, "kind"))
    #: the task it is about (every kind but a saved search's digest is about one task)
    task_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("tasks.id"))
    #: values for the message: task title, reason, …
    params: orm.Mapped[dict] = orm.mapped_column(sa.JSON, default=dict)
    #: where the notification leads (a path on this site)
    link: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    read_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the Message-ID every attempt to e-mail it carries (set when it is created for e-mail)
    email_message_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    #: when the mail server accepted its e-mail; a retried job finding it set sends nothing
    emailed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
