"""Tasks (technical challenges), their tags, search terms, attachments, invitations, NDA
acceptances, revisions and clarification questions."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from crowdsource.accounts.models import Center, Organization, User
from crowdsource.db import LabelledEnum, UTCDateTime, db, enum_column_type, set_labels, utcnow


class ContractType(LabelledEnum):
    DEVELOPMENT = "development"
    TRANSFER = "transfer"
    CONSULTING = "consulting"
    SERVICE = "service"


class TaskStatus(LabelledEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    AWARDED = "awarded"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Visibility(LabelledEnum):
    PUBLIC = "public"
    INVITE_ONLY = "invite_only"


class BidMode(LabelledEnum):
    SEALED = "sealed"
    OPEN = "open"


class IPTerms(LabelledEnum):
    ASSIGNED = "assigned"
    LICENSED = "licensed"
    RETAINED = "retained"


set_labels(
    ContractType,
    {
        ContractType.DEVELOPMENT: _l("Technology development"),
        ContractType.TRANSFER: _l("Technology transfer"),
        ContractType.CONSULTING: _l("Technology consulting"),
        ContractType.SERVICE: _l("Technology service"),
    },
)
set_labels(
    TaskStatus,
    {
        TaskStatus.DRAFT: _l("draft"),
        TaskStatus.OPEN: _l("open for bids"),
        TaskStatus.CLOSED: _l("bidding closed"),
        TaskStatus.AWARDED: _l("awarded"),
        TaskStatus.COMPLETED: _l("completed"),
        TaskStatus.CANCELLED: _l("cancelled"),
        TaskStatus.EXPIRED: _l("expired without bids"),
    },
)
set_labels(
    Visibility,
    {
        Visibility.PUBLIC: _l("Public"),
        Visibility.INVITE_ONLY: _l("Invited solvers and agencies only"),
    },
)
set_labels(
    BidMode,
    {
        BidMode.SEALED: _l("Sealed: bidders see no other bid"),
        BidMode.OPEN: _l("Open: bidders see the prices of other bids"),
    },
)
set_labels(
    IPTerms,
    {
        IPTerms.ASSIGNED: _l("Assigned to the enterprise"),
        IPTerms.LICENSED: _l("Licensed to the enterprise"),
        IPTerms.RETAINED: _l("Retained by the solver"),
    },
)

TASK_MOVES = {
    TaskStatus.DRAFT: {TaskStatus.OPEN},
    TaskStatus.OPEN: {TaskStatus.CLOSED, TaskStatus.EXPIRED, TaskStatus.CANCELLED},
    TaskStatus.CLOSED: {TaskStatus.AWARDED, TaskStatus.CANCELLED},
    TaskStatus.AWARDED: {TaskStatus.COMPLETED, TaskStatus.CANCELLED},
}

#: states in which a task is shown to the public (a draft is its organization's only)
PUBLISHED_STATES = tuple(status for status in TaskStatus if status != TaskStatus.DRAFT)


class Task(db.Model):
    """A technical challenge an enterprise posts for its organization."""

    __tablename__ = "tasks"
    __table_args__ = (
        sa.CheckConstraint("budget_min_fen > 0", name="budget_min_positive"),
        sa.CheckConstraint("budget_max_fen >= budget_min_fen", name="budget_range"),
        sa.Index("ix_tasks_status_published_at", "status", "published_at"),
        sa.Index("ix_tasks_status_bid_deadline", "status", "bid_deadline"),
        sa.Index("ix_tasks_status_budget_max_fen", "status", "budget_max_fen"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: the enterprise posting the task
    organization_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    created_by_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    center_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("centers.id"), index=True)
    title: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    #: short public text shown in lists (and before an NDA is accepted)
    summary: orm.Mapped[str] = orm.mapped_column(sa.String(500))
    #: Markdown, rendered through the sanitizer
    description: orm.Mapped[str] = orm.mapped_column(sa.Text)
    contract_type: orm.Mapped[ContractType] = orm.mapped_column(
        enum_column_type(ContractType, "contract_type")
    )
    #: field tags, as entered (their normalized form is in task_tags)
    fields: orm.Mapped[list] = orm.mapped_column(sa.JSON, default=list)
    #: required skills, as entered
    skills: orm.Mapped[list] = orm.mapped_column(sa.JSON, default=list)
    budget_min_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    budget_max_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    currency: orm.Mapped[str] = orm.mapped_column(sa.String(3), default="CNY")
    bid_deadline: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    delivery_date: orm.Mapped[dt.date]
    visibility: orm.Mapped[Visibility] = orm.mapped_column(
        enum_column_type(Visibility, "visibility"), default=Visibility.PUBLIC
    )
    bid_mode: orm.Mapped[BidMode] = orm.mapped_column(
        enum_column_type(BidMode, "bid_mode"), default=BidMode.SEALED
    )
    ip_terms: orm.Mapped[IPTerms] = orm.mapped_column(enum_column_type(IPTerms, "ip_terms"))
    #: solvers accept the task's terms before they see the description and attachments
    nda_required: orm.Mapped[bool] = orm.mapped_column(default=False)
    status: orm.Mapped[TaskStatus] = orm.mapped_column(
        enum_column_type(TaskStatus, "status"), default=TaskStatus.DRAFT
    )
    #: told to bidders when the task is cancelled
    cancel_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    #: hidden by the platform: outsiders no longer see it (its members and the managers do);
    #: why (shown to the enterprise), and whether a suspension of its poster hid it
    hidden_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    hidden_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    hidden_by_suspension: orm.Mapped[bool] = orm.mapped_column(
        default=False, server_default=sa.false()
    )
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    published_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: when bidding ended (deadline, early close) or the task was cancelled
    ended_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    organization: orm.Mapped[Organization] = orm.relationship()
    created_by: orm.Mapped[User] = orm.relationship()
    center: orm.Mapped[Center] = orm.relationship()
    attachments: orm.Mapped[list["TaskAttachment"]] = orm.relationship(
        back_populates="task", order_by="TaskAttachment.id"
    )

    def accepts_bids(self, now=None):
        """True while the task is open and its deadline has not passed."""
        return self.status == TaskStatus.OPEN and (now or utcnow()) < self.bid_deadline

    def __repr__(self):
        return f"<Task {self.id} {self.status}>"


class TaskTag(db.Model):
    """A normalized field tag or skill of a task, for filtering."""

    __tablename__ = "task_tags"
    __table_args__ = (sa.Index("ix_task_tags_tag_task_id", "tag", "task_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    task_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("tasks.id"), index=True)
    #: lower-cased tag
    tag: orm.Mapped[str] = orm.mapped_column(sa.String(40))


class TaskSearchTerm(db.Model):
    """A search term of a task: a lower-cased word, or a pair of adjacent Chinese characters.

    Keyword search looks terms up through the index instead of scanning every description.
    """

    __tablename__ = "task_search_terms"
    __table_args__ = (sa.Index("ix_task_search_terms_term_task_id", "term", "task_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    task_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("tasks.id"), index=True)
    term: orm.Mapped[str] = orm.mapped_column(sa.String(40))


class TaskInvitation(db.Model):
    """A solver (user) or an agency (organization) invited to see and bid on a task."""

    __tablename__ = "task_invitations"
    __table_args__ = (
        sa.CheckConstraint(
            "(user_id IS NULL) <> (organization_id IS NULL)", name="user_or_organization"
        ),
        sa.UniqueConstraint("task_id", "user_id"),
        sa.UniqueConstraint("task_id", "organization_id"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    task_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("tasks.id"))
    user_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    organization_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )

    user: orm.Mapped[User | None] = orm.relationship()
    organization: orm.Mapped[Organization | None] = orm.relationship()


class NdaAcceptance(db.Model):
    """A user's acceptance of a task's confidentiality terms."""

    __tablename__ = "nda_acceptances"
    __table_args__ = (sa.UniqueConstraint("task_id", "user_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    task_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("tasks.id"))
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    accepted_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)


class TaskAttachment(db.Model):
    """A file attached to a task, stored outside the static folder under a generated name."""

    __tablename__ = "task_attachments"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    task_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("tasks.id"), index=True)
    #: the name the uploader's file had (shown, and used for the download)
    original_name: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    #: generated file name in the upload folder
    stored_name: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    content_type: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    size: orm.Mapped[int]
    uploaded_by_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    task: orm.Mapped[Task] = orm.relationship(back_populates="attachments")


class TaskRevision(db.Model):
    """One edit of a published task: who changed which fields from what to what."""

    __tablename__ = "task_revisions"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    task_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("tasks.id"), index=True)
    editor_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    #: {field: [old, new]} with values as shown to people
    changes: orm.Mapped[dict] = orm.mapped_column(sa.JSON)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    editor: orm.Mapped[User] = orm.relationship()


class Question(db.Model):
    """A clarification question on a task and the enterprise's answer."""

    __tablename__ = "questions"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    task_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("tasks.id"), index=True)
    asker_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    body: orm.Mapped[str] = orm.mapped_column(sa.Text)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    answer: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    answered_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    answered_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    task: orm.Mapped[Task] = orm.relationship()
    asker: orm.Mapped[User] = orm.relationship(foreign_keys=[asker_id])
