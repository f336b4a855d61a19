"""Deadlines: the sweep ends bidding on overdue tasks (closed with bids, expired without), once,
from `flask sweep` or on access; and nobody can bid after the deadline, swept or not."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crowdsource.bids.models import Bid
from crowdsource.db import transaction, utcnow
from crowdsource.errors import DomainError
from crowdsource.notifications.models import Notification
from crowdsource.sweep import sweep_due
from crowdsource.tasks.models import TaskStatus
from tests.helpers import table_counts
from tests.tasks.helpers import notifications_of


@pytest.fixture
def market(make_user, make_org, make_task, add_member):
    owner = make_user(email="owner@example.com")
    colleague = make_user(email="colleague@example.com")
    enterprise = make_org(owner)
    add_member(colleague, enterprise)
    return {
        "owner": owner,
        "colleague": colleague,
        "enterprise": enterprise,
        "bidders": [make_user(email="first@example.com"), make_user(email="second@example.com")],
    }


def overdue(task, minutes=1):
    """Move the task's deadline into the past (as if time had passed)."""
    with transaction():
        task.bid_deadline = utcnow() - dt.timedelta(minutes=minutes)


def test_the_sweep_closes_overdue_tasks_with_bids_and_tells_everyone(
    db, market, make_task, make_bid, outbox
):
    with_bids = make_task(market["owner"], market["enterprise"], title="With bids")
    for bidder in market["bidders"]:
        make_bid(bidder, with_bids)
    overdue(with_bids)
    outbox.clear()

    assert sweep_due()["tasks_ended"] == 1

    db.session.refresh(with_bids)
    assert with_bids.status == TaskStatus.CLOSED and with_bids.ended_at is not None
    for person in [market["owner"], market["colleague"], *market["bidders"]]:
        (notification,) = notifications_of(person, "bidding_closed")
        assert notification.link == f"/tasks/{with_bids.id}"
    assert sorted(message.to[0] for message in outbox) == [
        "colleague@example.com",
        "first@example.com",
        "owner@example.com",
        "second@example.com",
    ]
    assert all("With bids" in message.subject for message in outbox)
    # The bids stay live: the enterprise now compares them and awards one.
    assert {bid.status for bid in db.session.scalars(sa.select(Bid))} == {"submitted"}


def test_the_sweep_lets_overdue_tasks_without_bids_expire(db, market, make_task, outbox):
    lonely = make_task(market["owner"], market["enterprise"], title="Nobody bid")
    overdue(lonely)
    outbox.clear()
    assert sweep_due()["tasks_ended"] == 1
    db.session.refresh(lonely)
    assert lonely.status == TaskStatus.EXPIRED
    for member in ("owner", "colleague"):
        assert len(notifications_of(market[member], "task_expired")) == 1
    assert sorted(message.to[0] for message in outbox) == [
        "colleague@example.com",
        "owner@example.com",
    ]


def test_the_sweep_leaves_tasks_that_are_not_due_alone(db, market, make_task, make_bid):
    now = utcnow()
    soon = make_task(market["owner"], market["enterprise"], bid_deadline=now + dt.timedelta(days=1))
    later = make_task(
        market["owner"], market["enterprise"], bid_deadline=now + dt.timedelta(days=30)
    )
    draft = make_task(
        market["owner"],
        market["enterprise"],
        publish=False,
        bid_deadline=now + dt.timedelta(days=1),
    )
    make_bid(market["bidders"][0], soon)
    before = table_counts()
    assert sweep_due()["tasks_ended"] == 0
    assert table_counts() == before

    # Two days on, only the task due by then ends; a draft never does.
    assert sweep_due(now + dt.timedelta(days=2))["tasks_ended"] == 1
    for task in (soon, later, draft):
        db.session.refresh(task)
    assert (soon.status, later.status, draft.status) == ("closed", "open", "draft")


def test_running_the_sweep_again_changes_nothing(db, market, make_task, make_bid, outbox):
    closed = make_task(market["owner"], market["enterprise"])
    make_bid(market["bidders"][0], closed)
    expired = make_task(market["owner"], market["enterprise"])
    overdue(closed)
    overdue(expired)
    assert sweep_due()["tasks_ended"] == 2
    db.session.refresh(closed)
    ended_at = closed.ended_at
    before, mails = table_counts(), len(outbox)

    assert sweep_due()["tasks_ended"] == 0
    assert sweep_due(utcnow() + dt.timedelta(days=365))["tasks_ended"] == 0
    # A year on, the sweep has purged the outbox's sent rows (the jobs' log), nothing else.
    before.pop("job_outbox")
    assert {**table_counts(), "job_outbox": None} == {**before, "job_outbox": None}
    assert len(outbox) == mails
    db.session.refresh(closed)
    db.session.refresh(expired)
    assert (closed.status, expired.status) == ("closed", "expired")
    assert closed.ended_at == ended_at


def test_flask_sweep_ends_overdue_tasks(app, db, market, make_task, make_bid):
    closed = make_task(market["owner"], market["enterprise"])
    make_bid(market["bidders"][0], closed)
    expired = make_task(market["owner"], market["enterprise"])
    not_due = make_task(market["owner"], market["enterprise"])
    overdue(closed)
    overdue(expired)
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert "'tasks_ended': 2" in result.output

    db.session.expire_all()
    assert (closed.status, expired.status, not_due.status) == ("closed", "expired", "open")
    assert notifications_of(market["bidders"][0], "bidding_closed")


def test_a_request_sweeps_when_no_sweeper_runs(
    app, client, db, market, make_task, make_bid, monkeypatch
):
    task = make_task(market["owner"], market["enterprise"])
    make_bid(market["bidders"][0], task)
    overdue(task)
    monkeypatch.setitem(app.config, "SWEEP_ON_ACCESS_SECONDS", 1)
    app.extensions.pop("sweep", None)
    try:
        assert client.get("/").status_code == 200
        db.session.refresh(task)
        assert task.status == TaskStatus.CLOSED
        assert len(notifications_of(market["owner"], "bidding_closed")) == 1
    finally:
        app.extensions.pop("sweep", None)


def test_sweep_on_access_is_off_when_configured_so(app, client, db, market, make_task):
    task = make_task(market["owner"], market["enterprise"])
    overdue(task)
    app.extensions.pop("sweep", None)
    assert app.config["SWEEP_ON_ACCESS_SECONDS"] == 0
    client.get("/")
    db.session.refresh(task)
    assert task.status == TaskStatus.OPEN


def test_nobody_can_bid_after_the_deadline_even_before_the_sweep(
    client, db, market, make_task, make_bid, login
):
    task = make_task(market["owner"], market["enterprise"])
    bidder = market["bidders"][0]
    overdue(task)
    db.session.refresh(task)
    assert task.status == TaskStatus.OPEN  # not swept yet
    with pytest.raises(DomainError, match="does not accept bids"):
        make_bid(bidder, task)

    login(bidder)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "This task does not accept bids." in page and "Place a bid" not in page
    before = table_counts()
    due = (utcnow() + dt.timedelta(days=30)).date().isoformat()
    response = client.post(
        f"/tasks/{task.id}/bid",
        data={
            "bid_as": "",
            "payee_organization_id": "",
            "brokerage": "",
            "price": "60000",
            "duration_days": "40",
            "proposal": "Late, but cheap.",
            "milestones-0-title": "Everything",
            "milestones-0-amount": "60000",
            "milestones-0-due_date": due,
        },
    )
    assert response.status_code == 400
    assert "This task does not accept bids any more." in response.get_data(as_text=True)
    assert table_counts() == before
    assert db.session.scalars(sa.select(Notification).filter_by(kind="bid_submitted")).all() == []
