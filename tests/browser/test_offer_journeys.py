"""Offers in a real browser: the winner declines with a reason, the enterprise reads it and
offers the contract to another bid, whose agency member signs."""

import datetime as dt
import re

from playwright.sync_api import expect

from crowdsource.db import transaction, utcnow
from crowdsource.tasks import services as task_services
from tests.plugin import log_in


def test_a_declined_offer_then_another_bid_is_offered_and_signed(
    live_server, db, people, make_task, make_bid, new_page, screenshot
):
    task = make_task(people.owner, people.enterprise, title="Bearing wear sensor")
    due = (utcnow() + dt.timedelta(days=40)).date()
    first = make_bid(people.solver, task, price_fen=300_000, milestones=[("All", 300_000, due)])
    second = make_bid(
        people.broker,
        task,
        price_fen=350_000,
        milestones=[("All", 350_000, due)],
        agency=people.agency,
        payee_organization=people.institute,
        brokerage_bps=1000,
    )
    with transaction():
        task_services.close_bidding(people.owner, task)

    enterprise = new_page()
    enterprise.on("dialog", lambda dialog: dialog.accept())
    log_in(enterprise, live_server, people.owner.email)
    enterprise.goto(f"{live_server}/tasks/{task.id}/bids")
    rows = enterprise.get_by_test_id("bid-row")
    rows.filter(has_text=people.solver.display_name).get_by_role(
        "button", name="Offer the contract"
    ).click()
    expect(enterprise.get_by_test_id("offer-status")).to_have_text(
        "waiting for the winner's signature"
    )
    offer_url = enterprise.url

    solver = new_page()
    log_in(solver, live_server, people.solver.email)
    solver.goto(offer_url)
    solver.get_by_text("Decline the offer").click()
    solver.get_by_label("Reason").fill("Our lab is booked until spring.")
    solver.get_by_role("button", name="Decline", exact=True).click()
    expect(solver.get_by_text("You declined the offer")).to_be_visible()
    expect(solver.get_by_test_id("offer-status")).to_have_text("declined")
    expect(solver.get_by_role("button", name="Accept and sign")).to_have_count(0)

    enterprise.goto(f"{live_server}/notifications")
    expect(enterprise.get_by_test_id("notification").first).to_contain_text("declined your offer")
    expect(enterprise.get_by_test_id("notification").first).to_contain_text("booked until spring")
    enterprise.goto(f"{live_server}/tasks/{task.id}/bids")
    expect(rows.filter(has_text=people.solver.display_name)).to_contain_text("offer declined")
    rows.filter(has_text=people.agency.name).get_by_role(
        "button", name="Offer the contract"
    ).click()
    expect(enterprise.get_by_text(f"offered the contract to {people.agency.name}")).to_be_visible()

    broker = new_page()
    broker.on("dialog", lambda dialog: dialog.accept())
    log_in(broker, live_server, people.broker.email)
    broker.goto(f"{live_server}/bids/{second.id}")
    broker.get_by_test_id("bid-offer").get_by_role("link", name="Open the offer").click()
    broker.get_by_role("button", name="Accept and sign").click()
    expect(broker.get_by_role("heading", name=re.compile(r"^Contract CS-"))).to_be_visible()
    expect(broker.get_by_test_id("payee")).to_have_text(people.institute.name)
    expect(broker.get_by_test_id("signature-client")).to_contain_text(people.owner.display_name)
    expect(broker.get_by_test_id("signature-solver")).to_contain_text(people.broker.display_name)
    screenshot(broker, "offer-signed")
    assert first.id != second.id
