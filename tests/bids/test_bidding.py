"""Placing, editing and withdrawing bids through the pages, and the rules a bid must keep."""

import datetime as dt
import re

import pytest

from crowdsource.bids import services as bid_services
from crowdsource.bids.models import Bid, BidStatus
from crowdsource.db import db, transaction
from crowdsource.errors import Conflict, DomainError, NotAllowed
from crowdsource.notifications.models import Kind
from tests.bids.support import (
    bid_form,
    bids_of,
    mails_to,
    notifications_of,
    pass_deadline,
    reload,
)
from tests.helpers import add_member, form_errors, table_counts


def details(price_fen=6_000_000, **extra):
    due = dt.date(2099, 2, 1)
    return bid_services.BidDetails(
        price_fen=price_fen,
        duration_days=30,
        proposal="Direct call.",
        milestones=[bid_services.ProposedMilestone("All", price_fen, due)],
        **extra,
    )


def page(response):
    return response.get_data(as_text=True)


# --- placing a bid --------------------------------------------------------------------------


def test_individual_bids_through_the_form_and_enterprise_members_are_told(
    client, market, login, outbox
):
    login(market.solver)
    form = client.get(f"/tasks/{market.task.id}/bid")
    assert form.status_code == 200 and "Place a bid" in page(form)

    response = client.post(
        f"/tasks/{market.task.id}/bid",
        data=bid_form(
            price="60,000",
            duration_days="40",
            proposal="Two cameras and a **CNN** model.",
            milestones=[
                ("Prototype", "20000.50", "2099-02-01"),
                ("Line trial", "39999.50", "2099-03-01"),
            ],
        ),
    )

    assert response.status_code == 302, form_errors(response)
    [bid] = bids_of(market.task)
    assert response.headers["Location"].endswith(f"/bids/{bid.id}")
    assert (bid.bidder_id, bid.agency_id, bid.status) == (
        market.solver.id,
        None,
        BidStatus.SUBMITTED,
    )
    assert (bid.price_fen, bid.duration_days) == (6_000_000, 40)
    assert bid.proposal == "Two cameras and a **CNN** model."
    assert [(m.position, m.title, m.amount_fen, m.due_date) for m in bid.milestones] == [
        (1, "Prototype", 2_000_050, dt.date(2099, 2, 1)),
        (2, "Line trial", 3_999_950, dt.date(2099, 3, 1)),
    ]
    shown = page(client.get(f"/bids/{bid.id}"))
    assert "¥60,000.00" in shown and "Line trial" in shown and "<strong>CNN</strong>" in shown

    for member in (market.owner, market.colleague):
        [notification] = notifications_of(member, Kind.BID_SUBMITTED)
        assert notification.link == f"/tasks/{market.task.id}/bids"
        [mail] = mails_to(outbox, member)
        assert market.task.title in mail.subject and "¥60,000.00" in mail.subject
    assert notifications_of(market.solver) == []
    assert mails_to(outbox, market.solver) == []


def test_agency_member_bids_for_the_agency_naming_a_payee_institution(
    client, market, brokers, login
):
    login(brokers.broker)
    form = page(client.get(f"/tasks/{market.task.id}/bid"))
    assert brokers.agency.name in form and brokers.institution.name in form

    response = client.post(
        f"/tasks/{market.task.id}/bid",
        data=bid_form(
            bid_as=str(brokers.agency.id),
            payee_organization_id=str(brokers.institution.id),
            brokerage="12.5",
        ),
    )

    assert response.status_code == 302, form_errors(response)
    [bid] = bids_of(market.task)
    assert bid.bidder_id == brokers.broker.id
    assert bid.agency_id == brokers.agency.id
    assert bid.payee_organization_id == brokers.institution.id
    assert bid.brokerage_bps == 1250
    assert bid.bidder_name == brokers.agency.name
    login(market.owner)
    compare = page(client.get(f"/tasks/{market.task.id}/bids"))
    assert brokers.agency.name in compare
    assert f"Payee: {brokers.institution.name}; agency brokerage 12.5%" in compare


def test_brokerage_at_the_cap_is_accepted(client, market, brokers, login):
    login(brokers.broker)
    response = client.post(
        f"/tasks/{market.task.id}/bid",
        data=bid_form(
            bid_as=str(brokers.agency.id),
            payee_organization_id=str(brokers.institution.id),
            brokerage="30",
        ),
    )
    assert response.status_code == 302, form_errors(response)
    assert [bid.brokerage_bps for bid in bids_of(market.task)] == [3000]


@pytest.mark.parametrize("brokerage", ["30.01", "45", "100"])
def test_brokerage_above_the_cap_is_refused(client, market, brokers, login, brokerage):
    login(brokers.broker)
    before = table_counts()
    response = client.post(
        f"/tasks/{market.task.id}/bid",
        data=bid_form(
            bid_as=str(brokers.agency.id),
            payee_organization_id=str(brokers.institution.id),
            brokerage=brokerage,
        ),
    )
    assert response.status_code == 400
    assert form_errors(response)["brokerage"] == ["The brokerage rate may be at most 30%."]
    assert table_counts() == before


def test_the_brokerage_cap_is_the_configured_one(app, market, brokers, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_BROKERAGE_BPS", 1000)
    before = table_counts()
    with pytest.raises(DomainError, match="at most 10%"), transaction():
        bid_services.place_bid(
            brokers.broker,
            market.task,
            details(
                agency=brokers.agency,
                payee_organization=brokers.institution,
                brokerage_bps=1001,
            ),
        )
    assert table_counts() == before


def test_brokerage_without_a_payee_institution_is_refused(client, market, brokers, login):
    login(brokers.broker)
    before = table_counts()
    response = client.post(
        f"/tasks/{market.task.id}/bid",
        data=bid_form(bid_as=str(brokers.agency.id), brokerage="10"),
    )
    assert response.status_code == 400
    assert form_errors(response)["brokerage"] == ["A brokerage rate needs a payee institution."]
    assert table_counts() == before
    with pytest.raises(DomainError, match="needs a payee institution"), transaction():
        bid_services.place_bid(
            brokers.broker, market.task, details(agency=brokers.agency, brokerage_bps=1000)
        )
    assert table_counts() == before


def test_an_individual_cannot_name_a_payee_institution(client, market, brokers, login):
    login(brokers.broker)
    before = table_counts()
    response = client.post(
        f"/tasks/{market.task.id}/bid",
        data=bid_form(payee_organization_id=str(brokers.institution.id)),
    )
    assert response.status_code == 400
    assert form_errors(response)["payee_organization_id"] == [
        "Only an agency can bid for a payee institution."
    ]
    assert table_counts() == before


def test_bidding_for_an_agency_one_is_not_a_member_of_is_refused(client, market, brokers, login):
    login(market.solver)
    before = table_counts()
    response = client.post(
        f"/tasks/{market.task.id}/bid", data=bid_form(bid_as=str(brokers.agency.id))
    )
    assert response.status_code == 400
    assert "bid_as" in form_errors(response)
    assert table_counts() == before
    with pytest.raises(NotAllowed, match="agency you are a member of"), transaction():
        bid_services.place_bid(market.solver, market.task, details(agency=brokers.agency))
    assert table_counts() == before


def test_only_an_agency_can_bid_for_an_agency(market, brokers):
    """Bidding "as" an institution or an enterprise is not bidding for an agency."""
    add_member(market.solver, brokers.institution)
    with pytest.raises(NotAllowed), transaction():
        bid_services.place_bid(market.solver, market.task, details(agency=brokers.institution))
    assert bids_of(market.task) == []


# --- bad input ------------------------------------------------------------------------------

BAD_INPUT = {
    "milestones not summing to the price": (
        {"milestones-1-amount": "30000"},
        "milestones",
        "The milestones add up to ¥50,000.00, not the price ¥60,000.00.",
    ),
    "zero milestone amount": (
        {"milestones-0-amount": "0"},
        "milestones-0-amount",
        "The amount must be more than zero.",
    ),
    "negative milestone amount": (
        {"milestones-0-amount": "-1"},
        "milestones-0-amount",
        "The amount must be more than zero.",
    ),
    "absurd milestone amount": (
        {"milestones-0-amount": "99999999999"},
        "milestones-0-amount",
        "The amount is too large.",
    ),
    "zero price": ({"price": "0"}, "price", "The amount must be more than zero."),
    "negative price": ({"price": "-1"}, "price", "The amount must be more than zero."),
    "absurd price": ({"price": "99999999999"}, "price", "The amount is too large."),
    "no milestone at all": (
        {
            f"milestones-{row}-{part}": ""
            for row in range(2)
            for part in ("title", "amount", "due_date")
        },
        "milestones",
        "Propose at least one milestone.",
    ),
    "duration zero": ({"duration_days": "0"}, "duration_days", "Between 1 and 3650 days."),
    "milestone without a title": (
        {"milestones-0-title": " "},
        "milestones-0-title",
        "Name the milestone.",
    ),
    "milestone without an amount": (
        {"milestones-0-amount": ""},
        "milestones-0-amount",
        "Enter an amount.",
    ),
    "milestone without a due date": (
        {"milestones-0-due_date": ""},
        "milestones-0-due_date",
        "Enter a due date.",
    ),
    "milestone with a nonsense due date": (
        {"milestones-0-due_date": "soon"},
        "milestones-0-due_date",
        "Not a valid date value.",
    ),
}


@pytest.mark.parametrize("change, field, message", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_gets_a_field_error_and_stores_nothing(
    client, market, login, outbox, change, field, message
):
    login(market.solver)
    before = table_counts()
    response = client.post(f"/tasks/{market.task.id}/bid", data=bid_form(**change))
    assert response.status_code == 400
    if field == "milestones":
        assert f'data-testid="milestones-error">{message}<' in page(response)
    else:
        assert message in form_errors(response)[field]
    assert table_counts() == before
    assert outbox == []


@pytest.mark.parametrize("price", ["1,0,0", "1_000", "60,00"])
def test_a_price_grouped_wrongly_is_refused_at_its_field_as_typed(client, market, login, price):
    login(market.solver)
    before = table_counts()
    response = client.post(f"/tasks/{market.task.id}/bid", data=bid_form(price=price))
    assert response.status_code == 400
    assert form_errors(response)["price"] == [
        "Group the digits in threes with commas, e.g. 12,500 or 1,250,000.50."
    ]
    assert re.search(rf'name="price"[^>]*value="{re.escape(price)}"', page(response))
    assert "We have built such systems before." in page(response)  # the proposal kept
    assert table_counts() == before
    assert bids_of(market.task) == []


def test_a_milestone_due_in_the_past_is_refused(client, market, login):
    login(market.solver)
    before = table_counts()
    response = client.post(
        f"/tasks/{market.task.id}/bid",
        data=bid_form(
            milestones=[("Prototype", "20000", "2020-01-01"), ("Delivery", "40000", "2099-03-01")]
        ),
    )
    assert response.status_code == 400
    assert "Milestone due dates cannot be in the past." in page(response)
    assert table_counts() == before


# --- one live bid per bidder ----------------------------------------------------------------


def test_a_second_bid_by_the_same_individual_is_refused_with_a_message(client, market, login):
    login(market.solver)
    assert client.post(f"/tasks/{market.task.id}/bid", data=bid_form()).status_code == 302
    [bid] = bids_of(market.task)
    before = table_counts()

    response = client.post(
        f"/tasks/{market.task.id}/bid",
        data=bid_form(price="50000", milestones=[("All", "50000", "2099-02-01")]),
    )

    assert response.status_code == 400
    assert form_errors(response)["price"] == [
        "There is already a live bid from you on this task: edit it instead."
    ]
    assert table_counts() == before
    assert reload(Bid, bid.id).price_fen == 6_000_000
    with pytest.raises(Conflict), transaction():
        bid_services.place_bid(market.solver, market.task, details())


def test_opening_the_bid_form_again_leads_to_editing_the_bid(client, market, login):
    login(market.solver)
    client.post(f"/tasks/{market.task.id}/bid", data=bid_form())
    [bid] = bids_of(market.task)

    response = client.get(f"/tasks/{market.task.id}/bid")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/bids/{bid.id}/edit")
    edit = page(client.get(response.headers["Location"]))
    assert "Edit your bid" in edit and 'value="60000.00"' in edit


def test_an_individual_bid_and_an_agency_bid_of_one_person_are_distinct_bidders(
    client, market, brokers, login
):
    login(brokers.broker)
    assert client.post(f"/tasks/{market.task.id}/bid", data=bid_form()).status_code == 302
    response = client.post(
        f"/tasks/{market.task.id}/bid",
        data=bid_form(
            bid_as=str(brokers.agency.id),
            price="70000",
            milestones=[("All", "70000", "2099-02-01")],
        ),
    )
    assert response.status_code == 302, form_errors(response)
    bids = bids_of(market.task)
    assert [(b.agency_id, b.price_fen, b.status) for b in bids] == [
        (None, 6_000_000, BidStatus.SUBMITTED),
        (brokers.agency.id, 7_000_000, BidStatus.SUBMITTED),
    ]


def test_an_agency_holds_one_live_bid_whoever_of_its_members_bids(
    client, make_user, market, brokers, login
):
    partner = make_user(name="Wu Gang")
    add_member(partner, brokers.agency)
    login(brokers.broker)
    client.post(f"/tasks/{market.task.id}/bid", data=bid_form(bid_as=str(brokers.agency.id)))
    login(partner)
    before = table_counts()
    response = client.post(
        f"/tasks/{market.task.id}/bid", data=bid_form(bid_as=str(brokers.agency.id))
    )
    assert response.status_code == 400
    assert "already a live bid" in form_errors(response)["price"][0]
    assert table_counts() == before


# --- editing and withdrawing ----------------------------------------------------------------


def test_the_bidder_edits_the_bid_before_the_deadline(client, market, login, outbox):
    login(market.solver)
    client.post(f"/tasks/{market.task.id}/bid", data=bid_form())
    [bid] = bids_of(market.task)

    response = client.post(
        f"/bids/{bid.id}/edit",
        data=bid_form(
            price="55000",
            duration_days="35",
            proposal="A cheaper plan.",
            milestones=[("Only one", "55000", "2099-04-01")],
        ),
    )

    assert response.status_code == 302, form_errors(response)
    bid = reload(Bid, bid.id)
    assert (bid.price_fen, bid.duration_days, bid.proposal) == (5_500_000, 35, "A cheaper plan.")
    assert [(m.title, m.amount_fen) for m in bid.milestones] == [("Only one", 5_500_000)]
    assert "¥55,000.00" in page(client.get(f"/bids/{bid.id}"))


def test_an_edit_with_bad_milestones_changes_nothing(client, market, login):
    login(market.solver)
    client.post(f"/tasks/{market.task.id}/bid", data=bid_form())
    [bid] = bids_of(market.task)
    before = table_counts()
    response = client.post(
        f"/bids/{bid.id}/edit", data=bid_form(price="55000", milestones=[("x", "1", "2099-01-01")])
    )
    assert response.status_code == 400
    assert table_counts() == before
    bid = reload(Bid, bid.id)
    assert bid.price_fen == 6_000_000 and len(bid.milestones) == 2


def test_the_bidder_withdraws_and_may_then_bid_again(client, market, login):
    login(market.solver)
    client.post(f"/tasks/{market.task.id}/bid", data=bid_form())
    [bid] = bids_of(market.task)

    response = client.post(f"/bids/{bid.id}/withdraw")

    assert response.status_code == 302
    assert reload(Bid, bid.id).status == BidStatus.WITHDRAWN
    assert "withdrawn" in page(client.get(f"/bids/{bid.id}"))
    assert client.get(f"/tasks/{market.task.id}/bid").status_code == 200
    assert client.post(f"/tasks/{market.task.id}/bid", data=bid_form()).status_code == 302
    assert [b.status for b in bids_of(market.task)] == [BidStatus.WITHDRAWN, BidStatus.SUBMITTED]


def test_nobody_else_edits_or_withdraws_a_bid(client, make_user, market, login):
    login(market.solver)
    client.post(f"/tasks/{market.task.id}/bid", data=bid_form())
    [bid] = bids_of(market.task)
    login(make_user())
    assert (
        client.post(
            f"/bids/{bid.id}/edit", data=bid_form(price="1", milestones=[("x", "1", "2099-01-01")])
        ).status_code
        == 404
    )
    assert client.post(f"/bids/{bid.id}/withdraw").status_code == 404
    login(market.owner)  # the enterprise sees the bid, but it is not theirs to change
    assert client.get(f"/bids/{bid.id}/edit").status_code == 403
    assert client.post(f"/bids/{bid.id}/withdraw").status_code == 403
    bid = reload(Bid, bid.id)
    assert (bid.status, bid.price_fen) == (BidStatus.SUBMITTED, 6_000_000)


def test_after_the_deadline_bids_are_neither_placed_edited_nor_withdrawn(
    client, make_user, market, login
):
    login(market.solver)
    client.post(f"/tasks/{market.task.id}/bid", data=bid_form())
    [bid] = bids_of(market.task)
    latecomer = make_user()
    pass_deadline(market.task)
    before = table_counts()

    edit = client.post(
        f"/bids/{bid.id}/edit",
        data=bid_form(price="50000", milestones=[("All", "50000", "2099-02-01")]),
    )
    assert edit.status_code == 400
    assert form_errors(edit)["price"] == ["This task does not accept bids any more."]
    withdraw = client.post(f"/bids/{bid.id}/withdraw")
    assert withdraw.status_code == 400
    assert "Bids can only be withdrawn before the deadline." in page(withdraw)
    bid = reload(Bid, bid.id)
    assert (bid.status, bid.price_fen) == (BidStatus.SUBMITTED, 6_000_000)
    assert table_counts() == before

    login(latecomer)
    before = table_counts()
    late = client.post(f"/tasks/{market.task.id}/bid", data=bid_form())
    assert late.status_code == 400
    assert form_errors(late)["price"] == ["This task does not accept bids any more."]
    assert table_counts() == before


# --- the enterprise's own task --------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "colleague"])
def test_nobody_bids_on_their_own_organizations_task(client, market, login, who):
    login(getattr(market, who))
    before = table_counts()
    response = client.post(f"/tasks/{market.task.id}/bid", data=bid_form())
    assert response.status_code == 400
    assert form_errors(response)["price"] == ["You cannot bid on a task of your own organization."]
    assert table_counts() == before


def test_an_agency_member_who_also_works_for_the_enterprise_cannot_bid_for_the_agency(
    market, brokers
):
    add_member(brokers.broker, market.enterprise)
    with pytest.raises(NotAllowed), transaction():
        bid_services.place_bid(brokers.broker, market.task, details(agency=brokers.agency))
    assert bids_of(market.task) == []


def test_a_draft_task_takes_no_bids(client, market, make_task, login):
    draft = make_task(market.owner, market.enterprise, publish=False)
    login(market.solver)
    assert client.get(f"/tasks/{draft.id}/bid").status_code == 404
    before = table_counts()
    assert client.post(f"/tasks/{draft.id}/bid", data=bid_form()).status_code == 404
    assert table_counts() == before
    assert db.session.get(Bid, 1) is None


def test_the_payee_must_be_an_institution(client, make_user, make_org, market, brokers, login):
    other_company = make_org(make_user(), name="Weifang Motors")
    login(brokers.broker)
    form = page(client.get(f"/tasks/{market.task.id}/bid"))
    payees = re.search(r'<select[^>]*name="payee_organization_id".*?</select>', form, re.S)[0]
    assert re.findall(r"<option[^>]*>([^<]*)</option>", payees) == [
        "— none —",
        brokers.institution.name,
    ]
    before = table_counts()
    response = client.post(
        f"/tasks/{market.task.id}/bid",
        data=bid_form(bid_as=str(brokers.agency.id), payee_organization_id=str(other_company.id)),
    )
    assert response.status_code == 400
    assert "payee_organization_id" in form_errors(response)
    assert table_counts() == before
    for payee in (other_company, market.enterprise, brokers.agency):
        with pytest.raises(DomainError, match="Choose an institution"), transaction():
            bid_services.place_bid(
                brokers.broker,
                market.task,
                details(agency=brokers.agency, payee_organization=payee),
            )
    assert table_counts() == before
