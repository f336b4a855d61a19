"""Helpers shared by the bid, contract and notification tests: the bid form and task deadlines."""

import datetime as dt

import sqlalchemy as sa

from crowdsource.bids.models import Bid
from crowdsource.db import db, transaction, utcnow
from crowdsource.notifications.models import Notification
from crowdsource.tasks.models import Task
from tests.helpers import stored_counts as stored_counts  # the modules that import it here

#: two milestones summing to ¥60,000.00, due far in the future
MILESTONES = (("Prototype", "20000", "2099-02-01"), ("Delivery", "40000", "2099-03-01"))


def bid_form(price="60000", milestones=MILESTONES, **fields):
    """The fields of the bid form as a browser sends them (an individual bid by default)."""
    data = {
        "bid_as": "",
        "payee_organization_id": "",
        "brokerage": "",
        "price": price,
        "duration_days": "40",
        "proposal": "We have built such systems before.",
    }
    for index, (title, amount, due_date) in enumerate(milestones):
        data[f"milestones-{index}-title"] = title
        data[f"milestones-{index}-amount"] = amount
        data[f"milestones-{index}-due_date"] = due_date
    data.update(fields)
    return data


def pass_deadline(task):
    """Move the task's bid deadline into the past (the task itself stays open)."""
    with transaction():
        db.session.get(Task, task.id).bid_deadline = utcnow() - dt.timedelta(minutes=1)


def reload(model, object_id):
    """A fresh copy of a row, as stored now."""
    db.session.expire_all()
    return db.session.get(model, object_id)


def bids_of(task):
    return db.session.scalars(sa.select(Bid).filter_by(task_id=task.id).order_by(Bid.id)).all()


def notifications_of(user, kind=None):
    query = sa.select(Notification).filter_by(user_id=user.id)
    if kind is not None:
        query = query.filter_by(kind=kind)
    return db.session.scalars(query.order_by(Notification.id)).all()


def mails_to(outbox, user):
    return [message for message in outbox if user.email in message.to]
