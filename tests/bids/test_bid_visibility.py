"""Who sees which bid: sealed and open bidding, the enterprise's comparison, outsiders."""

from types import SimpleNamespace

import pytest

from crowdsource.bids.models import Bid
from crowdsource.db import db
from tests.bids.support import bid_form
from tests.helpers import add_member

#: a proposal no page but the bidder's own and the enterprise's may show
SECRET = "Our edge: a polarised ring light tuned to 470 nm"


def page(response):
    return response.get_data(as_text=True)


@pytest.fixture
def rivals(client, make_user, make_task, market, login):
    """Two bids on one task: Alice's (¥61,234.00, with a distinctive proposal) and Bob's
    (¥70,000.00); Bob stays logged in."""

    def make(bid_mode):
        task = make_task(market.owner, market.enterprise, bid_mode=bid_mode)
        alice, bob = make_user(name="Alice Ma"), make_user(name="Bob Niu")
        login(alice)
        form = bid_form(
            price="61234",
            proposal=SECRET,
            milestones=[("Alice's milestone", "61234", "2099-02-01")],
        )
        assert client.post(f"/tasks/{task.id}/bid", data=form).status_code == 302
        login(bob)
        form = bid_form(price="70000", milestones=[("All", "70000", "2099-02-01")])
        assert client.post(f"/tasks/{task.id}/bid", data=form).status_code == 302
        bid_a = db.session.query(Bid).filter_by(bidder_id=alice.id).one()
        bid_b = db.session.query(Bid).filter_by(bidder_id=bob.id).one()
        return SimpleNamespace(task=task, alice=alice, bid_a=bid_a, bob=bob, bid_b=bid_b)

    return make


def test_sealed_bidding_shows_a_bidder_no_other_price(client, rivals):
    race = rivals("sealed")  # logged in as Bob
    shown = page(client.get(f"/tasks/{race.task.id}"))
    assert "¥70,000.00" in shown  # his own bid
    assert "¥61,234.00" not in shown and 'data-testid="other-prices"' not in shown
    assert "¥61,234.00" not in page(client.get("/bids/mine"))


@pytest.mark.parametrize("mode", ["sealed", "open"])
def test_a_bidder_cannot_open_another_bid(client, rivals, mode):
    race = rivals(mode)  # logged in as Bob
    assert client.get(f"/bids/{race.bid_a.id}").status_code == 404
    assert client.get(f"/bids/{race.bid_a.id}/edit").status_code == 404


def test_open_bidding_shows_other_prices_never_proposals(client, rivals):
    race = rivals("open")  # logged in as Bob
    shown = page(client.get(f"/tasks/{race.task.id}"))
    assert "¥61,234.00" in shown.split('data-testid="other-prices"')[1].split("</p>")[0]
    for path in (
        f"/tasks/{race.task.id}",
        "/bids/mine",
        f"/bids/{race.bid_a.id}",
        f"/bids/{race.bid_b.id}",
        f"/tasks/{race.task.id}/bids",
        "/notifications",
    ):
        assert SECRET not in page(client.get(path)), path


def test_open_bidding_shows_only_live_bids(client, login, rivals):
    race = rivals("open")
    login(race.alice)
    assert client.post(f"/bids/{race.bid_a.id}/withdraw").status_code == 302
    login(race.bob)
    shown = page(client.get(f"/tasks/{race.task.id}"))
    assert "¥61,234.00" not in shown


def test_a_visitor_who_has_not_bid_sees_no_prices_in_open_mode(client, make_user, login, rivals):
    race = rivals("open")
    login(make_user())
    shown = page(client.get(f"/tasks/{race.task.id}"))
    assert "¥61,234.00" not in shown and "¥70,000.00" not in shown


def test_the_enterprise_compares_all_bids_with_their_proposals(client, market, login, rivals):
    race = rivals("sealed")
    for member in (market.owner, market.colleague):
        login(member)
        response = client.get(f"/tasks/{race.task.id}/bids")
        assert response.status_code == 200
        shown = page(response)
        assert shown.count('data-testid="bid-row"') == 2
        for text in ("Alice Ma", "¥61,234.00", SECRET, "Bob Niu", "¥70,000.00"):
            assert text in shown
        assert "We have built such systems before." in shown  # Bob's proposal
        assert shown.index("¥61,234.00") < shown.index("¥70,000.00")  # cheapest first
        assert SECRET in page(client.get(f"/bids/{race.bid_a.id}"))


def test_a_non_member_cannot_compare_the_bids(client, make_user, login, rivals):
    race = rivals("open")
    for outsider in (race.alice, make_user()):
        login(outsider)
        response = client.get(f"/tasks/{race.task.id}/bids")
        assert response.status_code in (403, 404)
        assert SECRET not in page(response)


def test_anonymous_visitors_are_sent_to_log_in(client, rivals):
    race = rivals("open")
    client.post("/logout")
    for path in (f"/bids/{race.bid_a.id}", f"/tasks/{race.task.id}/bids", "/bids/mine"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    shown = page(client.get(f"/tasks/{race.task.id}"))
    assert "¥61,234.00" not in shown and SECRET not in shown


def test_my_bids_lists_my_own_and_my_agencys_bids(
    client, make_user, make_bid, market, brokers, login
):
    colleague = make_user(name="Agency colleague")
    add_member(colleague, brokers.agency)
    make_bid(brokers.broker, market.task, price_fen=7_100_000, agency=brokers.agency)
    make_bid(market.solver, market.task, price_fen=5_900_000)
    for member in (brokers.broker, colleague):
        login(member)
        mine = page(client.get("/bids/mine"))
        assert mine.count('data-testid="my-bid-row"') == 1
        assert "¥71,000.00" in mine and brokers.agency.name in mine
        assert "¥59,000.00" not in mine
    login(market.solver)
    mine = page(client.get("/bids/mine"))
    assert "¥59,000.00" in mine and "¥71,000.00" not in mine


def test_a_proposal_is_shown_sanitized(client, market, login):
    login(market.solver)
    form = bid_form(proposal="**Plan** <script>alert('x')</script><img src=x onerror=alert(1)>")
    assert client.post(f"/tasks/{market.task.id}/bid", data=form).status_code == 302
    bid = db.session.query(Bid).one()
    login(market.owner)
    for path in (f"/bids/{bid.id}", f"/tasks/{market.task.id}/bids"):
        shown = page(client.get(path))
        assert "<strong>Plan</strong>" in shown
        assert "<script>alert('x')" not in shown and "onerror" not in shown
