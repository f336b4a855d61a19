"""Notification services: notify people, mark notifications read.

A notification stores values, not sentences: its text is made each time it is read (the
list, the e-mail), in the reader's language and time zone (crowdsource/notifications/
messages.py). ``notify(..., **params)`` stores each value in the row's JSON by its type:

- text (a task's title, a reason, a contract number, a name): a JSON string, shown as stored;
- an amount of money, passed as ``Amount(fen)``: ``{"fen": 120000}`` (integer fen), shown as
  the reader's language writes yuan (``¥1,200.00``);
- a moment, passed as an aware ``datetime``: ``{"utc": "2026-12-05T04:00:00+00:00"}`` (UTC,
  ISO 8601), shown in the reader's time zone.

A bare number is refused (is it fen, yuan, a count?). Rows written before values were typed
hold only strings — amounts and times as they were formatted then — and are shown as stored.

E-mail goes out for the important kinds, by a job after the commit, to users who have not
turned e-mail off. RQ retries a mail job that failed or was killed; the job sends each
notification once, always with the Message-ID stored here when the notification is created.
"""

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask import current_app

from crowdsource import mail, outbox
from crowdsource.db import db, utcnow
from crowdsource.notifications.models import DIGEST_COUNT, Kind, Notification
from crowdsource.outbox import enqueue

#: kinds that are also sent by e-mail
EMAILED = {
    Kind.QUESTION_ANSWERED,
    Kind.BID_SUBMITTED,
    Kind.BID_REJECTED,
    Kind.BID_AWARDED,
    Kind.BIDDING_CLOSED,
    Kind.TASK_EXPIRED,
    Kind.TASK_CANCELLED,
    Kind.MILESTONE_FUNDED,
    Kind.DELIVERY_SUBMITTED,
    Kind.CHANGES_REQUESTED,
    Kind.MILESTONE_RELEASED,
    Kind.CANCELLATION_REQUESTED,
    Kind.CONTRACT_CANCELLED,
    Kind.PAYOUT_SENT,
    Kind.REVIEW_ENDING,
    Kind.DISPUTE_OPENED,
    Kind.DISPUTE_RESPONDED,
    Kind.DISPUTE_TO_REVIEW,
    Kind.DISPUTE_INFO_REQUESTED,
    Kind.DISPUTE_RULED,
    Kind.DISPUTE_APPEALED,
    Kind.DISPUTE_FINAL,
    Kind.DISPUTE_DEADLINE,
    Kind.OFFER_RECEIVED,
    Kind.OFFER_ACCEPTED,
    Kind.OFFER_DECLINED,
    Kind.OFFER_WITHDRAWN,
    Kind.OFFER_EXPIRED,
    Kind.OFFER_ENDING,
    Kind.BID_MESSAGE,
    Kind.FUNDING_DUE_SOON,
    Kind.FUNDING_OVERDUE,
    Kind.TRANSFER_REJECTED,
}


@dataclasses.dataclass(frozen=True)
class Amount:
    """An amount of money a notification shows: stored as integer fen, formatted when read."""

    fen: int

    def __post_init__(self):
        if not isinstance(self.fen, int) or isinstance(self.fen, bool):
            raise TypeError(f"an amount is integer fen, not {self.fen!r}")


def stored_value(value):
    """The JSON a notification keeps for one of its values (see the module's docstring)."""
    if isinstance(value, Amount):
        return {"fen": value.fen}
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"a notification's moment must be aware (UTC): {value!r}")
        return {"utc": value.astimezone(dt.UTC).isoformat()}
    if isinstance(value, int | float):
        raise TypeError(f"pass an amount as Amount(fen), a count as text: {value!r}")
    return str(value)


def notify(users, kind, link, about_task=None, **params):
    """Create a notification of ``kind`` about a task for each user (once per user).

    ``params`` are the values its message shows (the task's title as ``task``, an
    ``Amount`` as ``amount``, a ``datetime`` as ``date``, …), stored as values, never as
    formatted text (see the module's docstring). Those of the
    e-mailed kinds get their Message-ID now and a mail job after the commit.

    Past ``NOTIFICATION_DIGEST_AFTER`` notifications of one kind to one user within
    ``NOTIFICATION_DIGEST_MINUTES``, further ones are folded into one digest (see
    :func:`_digest_of`): a single row, mailed once, that counts them and shows the latest.
    """
    notifications = []
    emailed = []
    seen = set()
    stored = {key: stored_value(value) for key, value in params.items()}
    for user in users:
        if user is None or user.id in seen:
            continue
        seen.add(user.id)
        recent = _recent_of(user, kind)
        if recent is not None and len(recent) >= current_app.config["NOTIFICATION_DIGEST_AFTER"]:
            digest = _digest_of(recent)
            if digest is not None:
                digest.params = {**stored, DIGEST_COUNT: str(int(digest.params[DIGEST_COUNT]) + 1)}
                digest.link, digest.read_at = link, None  # unread again, leading to the latest
                continue
            stored_here = {**stored, DIGEST_COUNT: "1"}
        else:
            stored_here = stored
        notification = Notification(
            user_id=user.id,
            kind=kind,
            task_id=about_task.id if about_task is not None else None,
            params=stored_here,
            link=link,
        )
        db.session.add(notification)
        notifications.append(notification)
        if kind in EMAILED and user.email_notifications:
            emailed.append(notification)
    db.session.flush()
    for notification in emailed:
        # Stored with the row, so every attempt of its job sends this same ID.
        notification.email_message_id = mail.message_id("notification", notification.id)
        enqueue(
            "crowdsource.notifications.jobs:send_notification_email",
            notification.id,
            queue=outbox.MAIL,
            retry_intervals=mail.RETRY_INTERVALS,
        )
    return notifications


def _recent_of(user, kind):
    """The user's notifications of ``kind`` within the digest window, newest first (None when
    digests are off)."""
    after = current_app.config["NOTIFICATION_DIGEST_AFTER"]
    minutes = current_app.config["NOTIFICATION_DIGEST_MINUTES"]
    if after <= 0 or minutes <= 0:
        return None
    since = utcnow() - dt.timedelta(minutes=minutes)
    query = (
        sa.select(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.kind == kind,
            Notification.created_at > since,
        )
        .order_by(Notification.id.desc())
        .limit(after + 1)
    )
    return db.session.scalars(query).all()


def _digest_of(recent):
    """The digest among ``recent`` notifications that further ones are folded into, if any."""
    for notification in recent:
        if DIGEST_COUNT in (notification.params or {}):
            return notification
    return None


def unread_count(user):
    return db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def mark_read(user, notification_ids=None):
    """Mark the user's notifications (all, or those with the given ids) as read."""
    query = sa.update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if notification_ids is not None:
        query = query.where(Notification.id.in_(notification_ids))
    db.session.execute(query.values(read_at=utcnow()))
