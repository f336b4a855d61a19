"""Sweeps racing on PostgreSQL (row locks): of several sweeps running at once, each reminder
is sent by one of them, once. Every reminder loop takes its rows with SKIP LOCKED and checks
again under the lock whether the reminder is still due."""

import datetime as dt
from collections import Counter

import pytest
import sqlalchemy as sa

from crowdsource.db import db, transaction, utcnow
from crowdsource.disputes import services as disputes
from crowdsource.notifications.models import Kind, Notification
from crowdsource.payments import escrow, transfers
from tests.helpers import together
from tests.payments.races import (  # noqa: F401  (the races' app and story)
    app,
    delivered_milestone,
    story,
)

pytestmark = [pytest.mark.postgresql, pytest.mark.committing]

SWEEPS = 6
ROWS = 4


def sent(kind):
    """How many times each (person, link) got a notification of ``kind``."""
    rows = db.session.execute(
        sa.select(Notification.user_id, Notification.link).where(Notification.kind == kind)
    ).all()
    return Counter(rows)


def test_sweeps_racing_remind_each_review_that_ends_soon_once(app, story):
    milestones = [delivered_milestone(story) for _ in range(ROWS)]
    soon = max(m.review_due_at for m in milestones) - dt.timedelta(days=1)

    outcomes = together(app, [lambda: escrow.remind_reviews(soon)] * SWEEPS)

    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    assert sum(outcomes) == ROWS
    reminders = sent(Kind.REVIEW_ENDING)
    assert len(reminders) == 2 * ROWS  # the owner and the colleague, for each milestone
    assert set(reminders.values()) == {1}
    with transaction():
        assert escrow.remind_reviews(soon) == 0


def test_sweeps_racing_remind_each_respondent_once(app, story):
    for _ in range(ROWS):
        milestone = delivered_milestone(story)
        with transaction():
            disputes.open_dispute(story.owner, milestone.id, "Half of it is missing.")
    # a day before the respondents' deadline, and none of it passed
    soon = (
        utcnow() + dt.timedelta(days=app.config["DISPUTE_RESPONSE_DAYS"]) - dt.timedelta(hours=12)
    )

    outcomes = together(app, [lambda: disputes.sweep_due(soon)] * SWEEPS)

    assert all(isinstance(outcome, dict) for outcome in outcomes), outcomes
    assert sum(outcome["reminders"] for outcome in outcomes) == ROWS
    reminders = sent(Kind.DISPUTE_DEADLINE)
    assert len(reminders) == ROWS  # the solver, once per dispute
    assert set(reminders.values()) == {1}
    with transaction():
        assert disputes.sweep_due(soon)["reminders"] == 0


def test_sweeps_racing_remind_each_transfer_due_soon_once_and_tell_each_overdue_once(app, story):
    contracts = [story.award() for _ in range(ROWS)]
    signed = max(contract.signed_at for contract in contracts)
    days = app.config["FUNDING_DAYS"]
    soon = signed + dt.timedelta(days=days - 1)
    late = signed + dt.timedelta(days=days, hours=1)

    for moment, kind, counted in (
        (soon, Kind.FUNDING_DUE_SOON, "funding_reminders"),
        (late, Kind.FUNDING_OVERDUE, "funding_overdue"),
    ):
        outcomes = together(app, [lambda at=moment: transfers.sweep_due(at)] * SWEEPS)

        assert all(isinstance(outcome, dict) for outcome in outcomes), outcomes
        assert sum(outcome[counted] for outcome in outcomes) == ROWS
        reminders = sent(kind)
        assert len(reminders) == 2 * ROWS  # the owner and the colleague, for each contract
        assert set(reminders.values()) == {1}
    with transaction():
        assert transfers.sweep_due(late) == {"funding_reminders": 0, "funding_overdue": 0}
