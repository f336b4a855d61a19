"""An agency's bid belongs to the whole agency: every member is told what happens to it, and a
member who also bid for themselves can still reach a blank form to bid for the agency."""

from crowdsource.bids import services
from crowdsource.db import transaction
from tests.bids.support import bid_form, bids_of, notifications_of
from tests.helpers import add_member


def test_every_member_of_the_agency_hears_of_shortlist_and_offer_and_any_of_them_signs(
    market, brokers, make_user, make_bid, client, login
):
    colleague = make_user(name="Liu Yang")
    add_member(colleague, brokers.agency)
    agency_bid = make_bid(brokers.broker, market.task, agency=brokers.agency)
    other_bid = make_bid(market.solver, market.task)
    with transaction():
        services.shortlist_bid(market.owner, agency_bid)
    assert [n.kind for n in notifications_of(colleague)] == ["bid_shortlisted"]
    login(market.owner)
    client.post(f"/tasks/{market.task.id}/close")
    response = client.post(f"/bids/{agency_bid.id}/award")
    assert response.status_code == 302
    offer_path = response.headers["Location"]
    for member in (brokers.broker, colleague):
        kinds = [n.kind for n in notifications_of(member)]
        assert "bidding_closed" in kinds and "offer_received" in kinds
    login(colleague)  # not who placed the bid: a member of the agency signs for it
    assert client.post(f"{offer_path}/accept").status_code == 302
    for member in (brokers.broker, colleague):
        assert "bid_awarded" in [n.kind for n in notifications_of(member)]
    assert "bid_rejected" in [n.kind for n in notifications_of(other_bid.bidder)]


def test_a_member_with_an_individual_bid_can_still_bid_for_the_agency(
    market, brokers, client, login
):
    login(brokers.broker)
    assert client.post(f"/tasks/{market.task.id}/bid", data=bid_form()).status_code == 302
    response = client.get(f"/tasks/{market.task.id}/bid")
    assert response.status_code == 200  # the blank form, not the individual bid's edit page
    response = client.post(
        f"/tasks/{market.task.id}/bid", data=bid_form(bid_as=str(brokers.agency.id))
    )
    assert response.status_code == 302
    assert sorted(bid.bidder_key for bid in bids_of(market.task)) == [
        f"agency:{brokers.agency.id}",
        f"user:{brokers.broker.id}",
    ]


def test_a_solver_without_agency_is_sent_to_their_bid(market, client, login):
    login(market.solver)
    client.post(f"/tasks/{market.task.id}/bid", data=bid_form())
    response = client.get(f"/tasks/{market.task.id}/bid")
    assert response.status_code == 302 and "/edit" in response.headers["Location"]
