"""Bids and awards racing each other on PostgreSQL: row locks and the unique index decide.

Each thread opens its own app context (its own session and connection), starts at a barrier
with the others and calls the real services in a transaction of its own.
"""

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from crowdsource.accounts.models import User
from crowdsource.bids import offers
from crowdsource.bids import services as bid_services
from crowdsource.bids.models import Bid, BidStatus
from crowdsource.contracts.models import Contract, ContractNumber, Offer, Signature
from crowdsource.contracts.signing import Signer
from crowdsource.db import db, transaction
from crowdsource.errors import Conflict, DomainError
from crowdsource.notifications.models import Kind
from crowdsource.tasks import services as task_services
from crowdsource.tasks.models import Task, TaskStatus
from tests.bids.support import notifications_of

#: other threads or processes must see what the test commits
pytestmark = pytest.mark.committing


def run_together(app, actions):
    """Run each action (a function of no arguments, called inside a transaction) in a thread of
    its own, all released at once; returns what each returned or the exception it raised."""
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action):
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                with transaction():
                    outcomes[index] = action()
            except Exception as error:  # recorded: the test tells expected refusals from crashes
                outcomes[index] = error

    threads = [threading.Thread(target=run, args=item) for item in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hangs"
    db.session.expire_all()
    return outcomes


def placing(user_id, task_id, price_fen=6_000_000):
    """An action that bids on the task as the user (each thread loads its own rows)."""

    def place():
        details = bid_services.BidDetails(
            price_fen=price_fen,
            duration_days=30,
            proposal=f"Bid of user {user_id}",
            milestones=[bid_services.ProposedMilestone("All", price_fen, dt.date(2099, 1, 1))],
        )
        user, task = db.session.get(User, user_id), db.session.get(Task, task_id)
        return bid_services.place_bid(user, task, details).id

    return place


def live_bids(task):
    return db.session.scalars(
        sa.select(Bid).where(Bid.task_id == task.id, Bid.status.in_(bid_services.LIVE_STATES))
    ).all()


@pytest.mark.postgresql
def test_fifty_bidders_bidding_at_once_all_land(app, make_user, market):
    bidders = [make_user(name=f"Bidder {number}") for number in range(50)]

    outcomes = run_together(app, [placing(user.id, market.task.id) for user in bidders])

    assert [type(outcome) for outcome in outcomes] == [int] * 50, outcomes
    bids = live_bids(market.task)
    assert len(bids) == 50
    assert {bid.bidder_id for bid in bids} == {user.id for user in bidders}
    assert len(notifications_of(market.owner, Kind.BID_SUBMITTED)) == 50


@pytest.mark.postgresql
def test_one_bidder_submitting_twice_at_once_gets_one_live_bid(app, make_user, market):
    bidders = [make_user(name=f"Double clicker {number}") for number in range(5)]
    actions = [placing(user.id, market.task.id) for user in bidders for _ in range(2)]

    outcomes = run_together(app, actions)

    for user, pair in zip(bidders, zip(outcomes[::2], outcomes[1::2], strict=True), strict=True):
        assert sorted(type(outcome).__name__ for outcome in pair) == ["Conflict", "int"], pair
        conflict = next(outcome for outcome in pair if isinstance(outcome, Conflict))
        assert "already a live bid" in str(conflict.message)  # read in English
        [bid] = [bid for bid in live_bids(market.task) if bid.bidder_id == user.id]
        assert bid.id in pair
        assert len(bid.milestones) == 1
    assert len(live_bids(market.task)) == 5
    assert len(notifications_of(market.owner, Kind.BID_SUBMITTED)) == 5


@pytest.mark.postgresql
def test_two_offers_at_once_make_one_and_two_signatures_at_once_one_contract(
    app, make_bid, make_user, market
):
    first = make_bid(make_user(), market.task, price_fen=5_000_000)
    second = make_bid(make_user(), market.task, price_fen=6_000_000)
    with transaction():
        task_services.close_bidding(market.owner, db.session.get(Task, market.task.id))

    def offering(actor_id, bid_id):
        def offer():
            actor = db.session.get(User, actor_id)
            return offers.offer_bid(Signer(actor, "192.0.2.1"), db.session.get(Bid, bid_id)).id

        return offer

    outcomes = run_together(
        app, [offering(market.owner.id, first.id), offering(market.colleague.id, second.id)]
    )

    made = [outcome for outcome in outcomes if isinstance(outcome, int)]
    refused = [outcome for outcome in outcomes if not isinstance(outcome, int)]
    assert len(made) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0], Conflict)
    [offer] = db.session.scalars(sa.select(Offer)).all()
    assert offer.id == made[0]

    def signing():
        offer_row = db.session.get(Offer, offer.id)
        winner = db.session.get(User, offer_row.bid.bidder_id)
        return offers.accept_offer(Signer(winner, "192.0.2.2"), offer_row).id

    outcomes = run_together(app, [signing, signing])  # a double click

    signed = [outcome for outcome in outcomes if isinstance(outcome, int)]
    assert len(signed) == 1, outcomes
    assert isinstance(next(o for o in outcomes if not isinstance(o, int)), DomainError)
    [contract] = db.session.scalars(sa.select(Contract)).all()
    assert contract.id == signed[0] and contract.offer_id == offer.id
    assert contract.number.endswith("-000001")
    assert db.session.scalar(sa.select(ContractNumber.last)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 2
    statuses = {bid.id: bid.status for bid in db.session.scalars(sa.select(Bid))}
    assert sorted(statuses.values()) == sorted([BidStatus.ACCEPTED, BidStatus.REJECTED])
    assert db.session.get(Task, market.task.id).status == TaskStatus.AWARDED


@pytest.mark.postgresql
def test_bids_racing_the_end_of_bidding_land_before_it_or_are_refused(
    app, make_bid, make_user, market
):

    make_bid(make_user(), market.task)  # bidding can only be ended with a bid
    bidders = [make_user(name=f"Late bidder {number}") for number in range(10)]

    def close():
        owner = db.session.get(User, market.owner.id)
        return task_services.close_bidding(owner, db.session.get(Task, market.task.id))

    outcomes = run_together(app, [close] + [placing(user.id, market.task.id) for user in bidders])

    assert outcomes[0] == TaskStatus.CLOSED
    for user, outcome in zip(bidders, outcomes[1:], strict=True):
        if isinstance(outcome, int):
            # landed before the close: its bidder was told that bidding closed
            assert notifications_of(user, Kind.BIDDING_CLOSED) != []
        else:
            assert isinstance(outcome, DomainError), outcome
            assert "does not accept bids" in str(outcome)
            assert notifications_of(user) == []
    landed = sum(isinstance(outcome, int) for outcome in outcomes[1:])
    assert len(live_bids(market.task)) == 1 + landed
