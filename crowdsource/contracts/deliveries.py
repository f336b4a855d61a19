"""Deliveries of milestones: the solver's side hands in a funded milestone with a message and
files; every delivery is kept, including those the enterprise sent back for changes."""

import zoneinfo

import sqlalchemy as sa
from flask import current_app

from crowdsource.contracts import files, workflow
from crowdsource.contracts.models import Delivery
from crowdsource.db import db, utcnow


def local_date(moment):
    """The calendar date of ``moment`` where the platform is (due dates are such dates)."""
    zone = zoneinfo.ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    return moment.astimezone(zone).date()


def deliver(actor, milestone_id, note, file_storages, now=None):
    """The solver's side delivers a funded milestone with a note and files: the milestone moves
    to ``submitted`` (workflow.submit_delivery, which asks the enterprise to review it) and the
    delivery is recorded with its files, on time if made on or before the due date.

    Raises DomainError for a file that may not be attached (checked before anything is stored
    or moved), and what workflow.submit_delivery raises (NotAllowed for anyone but the solver's
    side, Conflict or AlreadyDone for a milestone that is not funded)."""
    now = now or utcnow()
    uploads = files.check(file_storages)
    milestone = workflow.submit_delivery(actor, milestone_id, note, now)
    delivery = Delivery(
        milestone_id=milestone.id,
        author_id=actor.id,
        note=milestone.delivery_note,
        on_time=local_date(now) <= milestone.due_date,
        created_at=now,
    )
    db.session.add(delivery)
    db.session.flush()
    files.attach(actor, milestone.contract, uploads, delivery=delivery)
    return delivery


def by_milestone(contract):
    """Every delivery of the contract's milestones, oldest first, by milestone id."""
    milestone_ids = [milestone.id for milestone in contract.milestones]
    found = {milestone_id: [] for milestone_id in milestone_ids}
    if not milestone_ids:
        return found
    query = (
        sa.select(Delivery)
        .where(Delivery.milestone_id.in_(milestone_ids))
        .options(sa.orm.selectinload(Delivery.files), sa.orm.joinedload(Delivery.author))
        .order_by(Delivery.created_at, Delivery.id)
    )
    for delivery in db.session.scalars(query):
        found[delivery.milestone_id].append(delivery)
    return found
