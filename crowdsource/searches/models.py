"""A saved search of the task list, and the digests of new matching tasks sent for it."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from crowdsource.db import UTCDateTime, db, utcnow


class SavedSearch(db.Model):
    """A search of the task list (words, filters, status) that a user keeps."""

    __tablename__ = "saved_searches"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: whose search it is: nobody else sees or changes it
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    #: the list's parameters as its address has them (``{"q": "机器视觉", "status": "all"}``)
    arguments: orm.Mapped[dict] = orm.mapped_column(sa.JSON, default=dict)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: tasks published after this moment are new for the next digest (UTC)
    checked_through: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: whether a daily e-mail lists the new matching tasks
    alerts: orm.Mapped[bool] = orm.mapped_column(sa.Boolean, default=True)


class SearchDigest(db.Model):
    """The new tasks one sweep found for a saved search, and the e-mail that lists them."""

    __tablename__ = "search_digests"
    # The database says a window is reported once, whatever two sweepers do.
    __table_args__ = (sa.UniqueConstraint("saved_search_id", "since"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    saved_search_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("saved_searches.id"))
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    #: the tasks published in (since, until] that matched, best matches first
    since: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    until: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    #: their ids, in the order the e-mail lists them
    task_ids: orm.Mapped[list] = orm.mapped_column(sa.JSON, default=list)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: the Message-ID every attempt to e-mail it carries
    email_message_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    #: when the mail server accepted its e-mail; a retried job finding it set sends nothing
    emailed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
