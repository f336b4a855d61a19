"""Accessibility of the pages people use, checked in Chromium with axe-core (vendored from the
npm registry into tests/browser/vendor, version in its header; no download at run time).

Each page is opened as the person who uses it, in both languages, and axe-core's WCAG 2.x A and
AA rules must find no violation at all. The script is evaluated through the DevTools protocol,
which the page's Content-Security-Policy (scripts from the site only) does not restrict.
"""

import pathlib

import pytest
from playwright.sync_api import expect

from crowdsource.bids import conversation, offers
from crowdsource.contracts.signing import Signer
from crowdsource.db import transaction
from crowdsource.disputes import services as disputes
from crowdsource.payments import funding as fundings
from tests.payments.support import deliver, fund
from tests.plugin import log_in

AXE = (pathlib.Path(__file__).resolve().parent / "vendor" / "axe.min.js").read_text()
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}

#: who opens which pages ({task}, {bid}, {offer}, {contract}, {funding}, {dispute}…: the world's rows)
PAGES = {
    None: [
        "/",
        "/login",
        "/register",
        "/password/forgot",
        "/tasks",
        "/tasks/{task}",
        "/statistics",
        "/centers",
    ],
    "solver": [
        "/account/security",
        "/account/two-factor",
        "/tasks/{task}/bid",
        "/bids/mine",
        "/notifications",
        "/earnings",
        "/account/profile",
        "/bids/{bid}",
        "/offers/{offer}",
    ],
    "owner": [
        "/tasks/mine",
        "/tasks/new",
        "/tasks/{task}",
        "/tasks/{task}/bids",
        "/tasks/{task}/bids?compare={bid}&compare={other_bid}",
        "/offers/{offer}",
        "/contracts",
        "/contracts/{contract}",
        "/fundings/{funding}",
        "/disputes/{dispute}",
    ],
    "manager": [
        "/console/",
        "/console/?q=a",
        "/statistics/dashboard",
        "/manage/payments",
        "/disputes/{dispute}",
        "/disputes",
    ],
    "admin": ["/console/audit", "/disputes"],
}


def violations(page):
    """axe-core's violations of the page: (rule, impact, how many elements, the first)."""
    page.evaluate(AXE)
    found = page.evaluate("rules => axe.run(document, rules)", RULES)["violations"]
    return [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"]) for v in found]


@pytest.fixture
def world(people, award, make_task, make_bid):
    """A task with a bid; a contract whose first milestone was delivered and is disputed by
    the enterprise, and whose second awaits the enterprise's bank transfer."""
    contract = award([300_000, 200_000])
    first, second = contract.milestones
    fund(first, people.owner, people.managers["qingdao"])
    deliver(people.solver, first)
    with transaction():
        funding = fundings.start_funding(people.owner, second)
        dispute = disputes.open_dispute(people.owner, first.id, "The report is missing.")
    task = make_task(people.owner, people.enterprise, title="Weld seam inspection")
    bid = make_bid(people.solver, task)
    other_bid = make_bid(people.broker, task, agency=people.agency)
    with transaction():
        conversation.post(people.solver, bid, "Can the line stop for a day?", [])
        offer = offers.offer_bid(Signer(people.owner, "192.0.2.1"), bid)
    return {
        "task": task.id,
        "bid": bid.id,
        "other_bid": other_bid.id,
        "offer": offer.id,
        "contract": contract.id,
        "funding": funding.id,
        "dispute": dispute.id,
    }


@pytest.mark.parametrize("language", ["English", "中文"])
@pytest.mark.parametrize("who", list(PAGES))
def test_the_pages_have_no_accessibility_violations(
    page, live_server, people, world, who, language
):
    page.goto(f"{live_server}/")
    page.get_by_role("button", name=language).click()
    if who is not None:
        user = {
            "solver": people.solver,
            "owner": people.owner,
            "manager": people.managers["qingdao"],
            "admin": people.admin,
        }[who]
        log_in(page, live_server, user.email)
        page.get_by_test_id("user-menu").wait_for()
    found = {}
    for path in PAGES[who]:
        page.goto(live_server + path.format(**world))
        expect(page.locator("main")).to_be_visible()
        if problems := violations(page):
            found[path] = problems
    assert found == {}


def test_a_form_with_its_errors_shown_has_no_accessibility_violations(page, live_server, people):
    page.goto(f"{live_server}/register")
    page.get_by_role("button", name="English").click()
    page.get_by_label("Email").fill("not an address")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    assert violations(page) == []
