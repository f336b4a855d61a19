"""Shortlisting, turning down and awarding bids; the contract the winner's signature forms and
who sees it (the offer itself: tests/bids/test_offers.py)."""

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa

from crowdsource.accounts import centers as center_services
from crowdsource.bids import offers
from crowdsource.bids.models import Bid, BidStatus
from crowdsource.contracts.models import Contract, ContractNumber, ContractStatus, MilestoneStatus
from crowdsource.contracts.services import contract_year, next_contract_number
from crowdsource.contracts.signing import Signer
from crowdsource.db import db, transaction, utcnow
from crowdsource.errors import DomainError
from crowdsource.notifications.models import Kind
from crowdsource.tasks.models import Task, TaskStatus
from tests.bids.support import mails_to, notifications_of, pass_deadline, reload, stored_counts
from tests.helpers import add_member, form_errors, table_counts


def page(response):
    return response.get_data(as_text=True)


def contracts():
    return db.session.scalars(sa.select(Contract).order_by(Contract.id)).all()


def offer_id_of(response):
    """The offer an award's redirect leads to."""
    return int(re.search(r"/offers/(\d+)$", response.headers["Location"]).group(1))


def award_and_sign(client, login, owner, bid, signer):
    """The enterprise's ``owner`` offers the contract to ``bid`` on its pages, then ``signer``
    (of the winning side) signs it on the offer's page; returns the signing's response."""
    login(owner)
    response = client.post(f"/bids/{bid.id}/award")
    assert response.status_code == 302, response.status_code
    login(signer)
    return client.post(f"/offers/{offer_id_of(response)}/accept")


@pytest.fixture
def bids(make_bid, make_user, market, brokers):
    """Three bids on the market's task: the solver's, an agency's for an institution, another's."""
    due = dt.date(2099, 5, 1)
    solo = make_bid(market.solver, market.task, price_fen=5_500_000)
    brokered = make_bid(
        brokers.broker,
        market.task,
        price_fen=7_000_000,
        milestones=[
            ("Feasibility study", 1_000_000, due),
            ("Prototype", 2_500_000, due + dt.timedelta(days=30)),
            ("Line trial", 3_500_000, due + dt.timedelta(days=60)),
        ],
        agency=brokers.agency,
        payee_organization=brokers.institution,
        brokerage_bps=1500,
    )
    third = make_bid(make_user(name="Wang Fang"), market.task, price_fen=6_500_000)
    return [solo, brokered, third]


# --- shortlist and reject -------------------------------------------------------------------


def test_shortlisting_tells_the_bidder(client, market, bids, login, outbox):
    solo = bids[0]
    login(market.owner)

    response = client.post(f"/bids/{solo.id}/shortlist")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/tasks/{market.task.id}/bids")
    assert reload(Bid, solo.id).status == BidStatus.SHORTLISTED
    [notification] = notifications_of(market.solver, Kind.BID_SHORTLISTED)
    assert notification.link == f"/bids/{solo.id}"
    login(market.solver)
    assert f"Your bid on “{market.task.title}” was shortlisted" in page(
        client.get("/notifications")
    )
    assert "shortlisted" in page(client.get(f"/bids/{solo.id}"))
    assert mails_to(outbox, market.solver) == []  # in-app only: shortlisting is not mailed


def test_only_the_enterprise_shortlists_or_rejects(client, market, bids, brokers, login):
    solo = bids[0]
    before = stored_counts()
    login(brokers.broker)  # another bidder: cannot even see the bid
    assert client.post(f"/bids/{solo.id}/shortlist").status_code == 404
    assert client.post(f"/bids/{solo.id}/reject", data={"reason": "no"}).status_code == 404
    login(market.solver)  # the bidder: sees the bid, may not judge it
    assert client.post(f"/bids/{solo.id}/shortlist").status_code == 403
    assert client.post(f"/bids/{solo.id}/reject", data={"reason": "no"}).status_code == 403
    assert client.post(f"/bids/{solo.id}/award").status_code == 403
    assert reload(Bid, solo.id).status == BidStatus.SUBMITTED
    assert stored_counts() == before


def test_a_too_long_rejection_reason_comes_back_as_typed_on_its_bid(
    client, market, bids, login, outbox
):
    solo, brokered = bids[0], bids[1]
    login(market.colleague)
    reason = "Too slow for our line; " * 100  # over 2,000 characters

    response = client.post(f"/bids/{solo.id}/reject", data={"reason": reason})

    assert response.status_code == 400
    assert form_errors(response)["reason"]
    typed = re.search(rf'id="reject-reason-{solo.id}" value="([^"]*)"', page(response))
    assert typed and html.unescape(typed.group(1)) == reason
    other = re.search(rf'id="reject-reason-{brokered.id}" value="([^"]*)"', page(response))
    assert other and other.group(1) == ""
    assert reload(Bid, solo.id).status == BidStatus.SUBMITTED
    assert notifications_of(market.solver, Kind.BID_REJECTED) == [] and outbox == []


def test_rejecting_with_a_reason_tells_the_bidder_by_notification_and_mail(
    client, market, bids, login, outbox
):
    solo = bids[0]
    login(market.colleague)

    response = client.post(f"/bids/{solo.id}/reject", data={"reason": "  Too slow for our line. "})

    assert response.status_code == 302
    bid = reload(Bid, solo.id)
    assert (bid.status, bid.rejection_reason) == (BidStatus.REJECTED, "Too slow for our line.")
    [notification] = notifications_of(market.solver, Kind.BID_REJECTED)
    assert notification.params["reason"] == "Too slow for our line."
    [mail] = mails_to(outbox, market.solver)
    assert mail.subject == f"Your bid on “{market.task.title}” was not selected"
    assert "Reason given: Too slow for our line." in mail.body
    assert f"/bids/{solo.id}" in mail.body
    login(market.solver)
    assert "Reason given: Too slow for our line." in page(client.get("/notifications"))
    shown = page(client.get(f"/bids/{solo.id}"))
    assert "not selected" in shown and "Too slow for our line." in shown
    # a rejected bid is no longer live: the bidder may bid again
    assert client.get(f"/tasks/{market.task.id}/bid").status_code == 200


# --- award ----------------------------------------------------------------------------------


def test_an_award_while_bidding_is_open_ends_bidding_and_offers_the_contract(
    client, market, bids, login, outbox
):
    login(market.owner)

    response = client.post(f"/bids/{bids[1].id}/award")

    assert response.status_code == 302
    assert "/offers/" in response.headers["Location"]
    task = reload(Task, market.task.id)
    assert task.status == TaskStatus.CLOSED and task.ended_at is not None
    assert [reload(Bid, bid.id).status for bid in bids] == [
        BidStatus.SUBMITTED,
        BidStatus.OFFERED,
        BidStatus.SUBMITTED,
    ]
    assert contracts() == []  # formed only when the winner signs too
    assert notifications_of(market.solver, Kind.BIDDING_CLOSED) != []


def test_awarding_after_bidding_ended_makes_the_contract(
    client, market, bids, brokers, login, outbox
):
    solo, brokered, third = bids
    with transaction():
        task = db.session.get(Task, market.task.id)
        task.contract_type, task.ip_terms = "consulting", "licensed"
    login(market.owner)
    assert client.post(f"/tasks/{market.task.id}/close").status_code == 302
    assert reload(Task, market.task.id).status == TaskStatus.CLOSED
    assert 'data-testid="bid-row"' in page(client.get(f"/tasks/{market.task.id}/bids"))
    outbox.clear()

    response = award_and_sign(client, login, market.owner, brokered, brokers.broker)

    assert response.status_code == 302
    [contract] = contracts()
    assert response.headers["Location"].endswith(f"/contracts/{contract.id}")
    assert re.fullmatch(rf"CS-{contract_year(utcnow())}-\d{{6}}", contract.number)
    assert re.fullmatch(r"CS-\d{4}-\d{6}", contract.number)
    assert contract.status == ContractStatus.ACTIVE
    assert (contract.task_id, contract.bid_id) == (market.task.id, brokered.id)
    assert contract.client_organization_id == market.enterprise.id
    assert contract.solver_id == brokers.broker.id
    assert contract.agency_id == brokers.agency.id
    assert (contract.payee_organization_id, contract.payee_user_id) == (
        brokers.institution.id,
        None,
    )
    assert contract.brokerage_bps == 1500
    assert (contract.price_fen, contract.currency) == (7_000_000, "CNY")
    assert (contract.contract_type, contract.ip_terms) == ("consulting", "licensed")
    assert contract.center_id == market.task.center_id
    assert [
        (m.position, m.title, m.amount_fen, m.due_date, m.status) for m in contract.milestones
    ] == [
        (1, "Feasibility study", 1_000_000, dt.date(2099, 5, 1), MilestoneStatus.PENDING),
        (2, "Prototype", 2_500_000, dt.date(2099, 5, 31), MilestoneStatus.PENDING),
        (3, "Line trial", 3_500_000, dt.date(2099, 6, 30), MilestoneStatus.PENDING),
    ]
    assert reload(Task, market.task.id).status == TaskStatus.AWARDED
    assert reload(Bid, brokered.id).status == BidStatus.ACCEPTED
    for loser in (solo, third):
        assert reload(Bid, loser.id).status == BidStatus.REJECTED
        [notification] = notifications_of(loser.bidder, Kind.BID_REJECTED)
        assert notification.link == f"/bids/{loser.id}"
        [mail] = mails_to(outbox, loser.bidder)
        assert "was not selected" in mail.subject
    [won] = notifications_of(brokers.broker, Kind.BID_AWARDED)
    assert won.link == f"/contracts/{contract.id}"
    offered, signed = mails_to(outbox, brokers.broker)
    assert "You are offered the contract" in offered.subject
    assert contract.number in signed.subject

    shown = page(client.get(f"/contracts/{contract.id}"))
    assert contract.number in shown
    assert "Technology consulting" in shown
    assert 'data-testid="payee">Qingdao University of Science<' in shown
    assert 'data-testid="contract-price">¥70,000.00<' in shown
    assert shown.count('data-testid="contract-milestone"') == 3
    assert "Licensed to the enterprise" in shown


def test_a_second_award_is_refused_and_makes_no_second_contract(client, market, bids, login):
    solo, brokered, third = bids
    login(market.owner)
    client.post(f"/tasks/{market.task.id}/close")
    response = client.post(f"/bids/{solo.id}/award")
    assert response.status_code == 302
    before = table_counts()
    for bid in (solo, third, brokered):  # while the offer is open
        assert client.post(f"/bids/{bid.id}/award").status_code == 409
    assert table_counts() == before
    login(market.solver)
    assert client.post(f"/offers/{offer_id_of(response)}/accept").status_code == 302
    login(market.owner)
    before = table_counts()
    for bid in (solo, third, brokered):  # once the contract is formed
        assert client.post(f"/bids/{bid.id}/award").status_code in (400, 409)
    assert table_counts() == before
    [contract] = contracts()
    assert contract.bid_id == solo.id
    assert [reload(Bid, bid.id).status for bid in bids] == [
        BidStatus.ACCEPTED,
        BidStatus.REJECTED,
        BidStatus.REJECTED,
    ]


def test_awarding_after_the_deadline_ends_bidding_first(market, bids):
    pass_deadline(market.task)
    with transaction():
        contract = offers.sign_both(market.owner, db.session.get(Bid, bids[2].id))
    task = reload(Task, market.task.id)
    assert task.status == TaskStatus.AWARDED and task.ended_at is not None
    assert reload(Contract, contract.id).bid_id == bids[2].id
    assert notifications_of(market.solver, Kind.BIDDING_CLOSED) != []


def test_a_withdrawn_bid_cannot_be_awarded(client, market, bids, login):
    login(market.solver)
    client.post(f"/bids/{bids[0].id}/withdraw")
    login(market.owner)
    client.post(f"/tasks/{market.task.id}/close")
    before = table_counts()
    assert client.post(f"/bids/{bids[0].id}/award").status_code == 409
    assert table_counts() == before
    assert reload(Task, market.task.id).status == TaskStatus.CLOSED


@pytest.mark.parametrize("bidder", ["individual", "agency"])
def test_the_payee_is_the_agency_else_the_individual(
    client, make_bid, market, brokers, login, bidder
):
    if bidder == "individual":
        bid = make_bid(market.solver, market.task)
    else:
        bid = make_bid(brokers.broker, market.task, agency=brokers.agency)
    login(market.owner)
    client.post(f"/tasks/{market.task.id}/close")
    signer = market.solver if bidder == "individual" else brokers.broker
    assert award_and_sign(client, login, market.owner, bid, signer).status_code == 302
    [contract] = contracts()
    if bidder == "individual":
        expected = (None, market.solver.id, None, market.solver.display_name)
    else:
        expected = (brokers.agency.id, None, brokers.agency.id, brokers.agency.name)
    assert (
        contract.payee_organization_id,
        contract.payee_user_id,
        contract.agency_id,
        contract.payee_name,
    ) == expected
    assert contract.brokerage_bps == 0
    assert f'data-testid="payee">{expected[3]}<' in page(client.get(f"/contracts/{contract.id}"))


# --- contract numbers -----------------------------------------------------------------------


def test_contract_numbers_count_up_within_the_year(client, make_bid, make_task, market, login):
    other_task = make_task(market.owner, market.enterprise, title="Second task")
    first = make_bid(market.solver, market.task)
    second = make_bid(market.solver, other_task)
    for bid in (first, second):
        assert award_and_sign(client, login, market.owner, bid, market.solver).status_code == 302
    year = contract_year(utcnow())
    assert [c.number for c in contracts()] == [f"CS-{year}-000001", f"CS-{year}-000002"]


def test_a_contract_signed_on_new_years_morning_in_china_has_the_new_years_number(
    client, make_bid, make_task, market, login, clock
):
    clock.move_to("2031-01-01T07:30:00+08:00")  # still 2030-12-31 in UTC
    task = make_task(market.owner, market.enterprise, title="New year's task")
    bid = make_bid(market.solver, task)
    assert award_and_sign(client, login, market.owner, bid, market.solver).status_code == 302
    assert [c.number for c in contracts()] == ["CS-2031-000001"]


@pytest.mark.usefixtures("db")
def test_next_contract_number_counts_per_year():
    with transaction():
        numbers = [next_contract_number(2031) for _ in range(3)]
        numbers.append(next_contract_number(2032))
    with transaction():
        numbers.append(next_contract_number(2031))
    assert numbers == [
        "CS-2031-000001",
        "CS-2031-000002",
        "CS-2031-000003",
        "CS-2032-000001",
        "CS-2031-000004",
    ]
    assert db.session.get(ContractNumber, 2031).last == 4


def test_a_rolled_back_award_uses_up_no_number(market, bids):
    pass_deadline(market.task)
    with pytest.raises(RuntimeError), transaction():
        offers.sign_both(market.owner, db.session.get(Bid, bids[0].id))
        raise RuntimeError("the commit never happens")
    assert contracts() == []
    with transaction():
        contract = offers.sign_both(market.owner, db.session.get(Bid, bids[0].id))
    assert contract.number.endswith("-000001")


# --- who sees the contract ------------------------------------------------------------------


@pytest.fixture
def awarded(client, market, bids, login):
    """The task awarded to the agency's bid (for an institution); returns the contract."""
    response = award_and_sign(client, login, market.owner, bids[1], bids[1].bidder)
    assert response.status_code == 302
    [contract] = contracts()
    return contract


def test_the_parties_and_the_centers_managers_see_the_contract(
    client, make_user, market, brokers, centers, login, awarded
):
    agency_colleague = make_user(name="Agency colleague")
    add_member(agency_colleague, brokers.agency)
    qingdao_manager, shandong_manager = make_user(), make_user()
    with transaction():
        center_services.make_manager(qingdao_manager, centers["qingdao"])
        center_services.make_manager(shandong_manager, centers["shandong"])
    admin = make_user(is_admin=True)
    viewers = [
        market.owner,
        market.colleague,
        brokers.broker,
        agency_colleague,
        brokers.professor,
        qingdao_manager,
        shandong_manager,
        admin,
    ]
    for viewer in viewers:
        login(viewer)
        response = client.get(f"/contracts/{awarded.id}")
        assert response.status_code == 200, viewer
        assert awarded.number in page(response)


def test_outsiders_get_404_for_the_contract(
    client, make_user, market, bids, centers, login, awarded
):
    zibo_manager = make_user()
    with transaction():
        center_services.make_manager(zibo_manager, centers["zibo"])
    for outsider in (market.solver, bids[2].bidder, zibo_manager, make_user()):
        login(outsider)
        response = client.get(f"/contracts/{awarded.id}")
        assert response.status_code == 404
        assert awarded.number not in page(response)
        assert awarded.number not in page(client.get("/contracts"))
    client.post("/logout")
    assert "/login" in client.get(f"/contracts/{awarded.id}").headers["Location"]


def test_contracts_lists_the_users_contracts(
    client, make_user, make_bid, make_task, market, brokers, login, awarded
):
    for party in (market.owner, brokers.broker, brokers.professor):
        login(party)
        shown = page(client.get("/contracts"))
        assert awarded.number in shown and market.task.title in shown
    login(make_user())
    assert "No contracts yet." in page(client.get("/contracts"))


def test_award_by_service_checks_the_actor(market, bids, brokers):
    pass_deadline(market.task)
    with pytest.raises(DomainError), transaction():
        offers.offer_bid(Signer(market.solver, "192.0.2.1"), db.session.get(Bid, bids[0].id))
    assert contracts() == []
    assert reload(Task, market.task.id).status == TaskStatus.OPEN


def test_a_too_long_reason_is_refused_and_changes_nothing(client, market, bids, login, outbox):
    login(market.owner)
    outbox.clear()
    before = table_counts()
    response = client.post(f"/bids/{bids[0].id}/reject", data={"reason": "x" * 2001})
    assert response.status_code == 400
    assert "Use at most 2000 characters." in page(response)
    assert table_counts() == before
    assert reload(Bid, bids[0].id).status == BidStatus.SUBMITTED
    assert outbox == []
