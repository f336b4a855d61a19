"""Each role's home page (/home) in Chromium: signed in as the enterprise's owner, the solver,
the agency's member, a center manager and the admin, the page shows that role's sections with
their items, and axe-core finds no violation (WCAG 2.x A and AA), in both languages.
With TEST_SCREENSHOTS=1 each page is saved as home-<role> in test-output/screenshots."""

import pathlib

import pytest
from playwright.sync_api import expect

from crowdsource.bids import offers
from crowdsource.contracts.signing import Signer
from crowdsource.db import transaction
from crowdsource.disputes import services as disputes
from crowdsource.payments import funding as fundings
from tests.payments.support import deliver, fund
from tests.plugin import log_in

AXE = (pathlib.Path(__file__).resolve().parent / "vendor" / "axe.min.js").read_text()
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}

#: per role: the sections that must list at least one item
EXPECTED = {
    "enterprise": ["todo-bids", "todo-offers-waiting", "todo-payments", "todo-accept"],
    "solver": ["todo-offers-to-sign", "todo-new-tasks"],
    "agency": ["todo-deliveries-due"],
    "manager": ["todo-transfers", "todo-disputes"],
    "admin": ["todo-transfers", "todo-disputes", "todo-jobs"],
}


@pytest.fixture
def market(people, award, make_task, make_bid):
    """Something to do for everyone: bids and an offer on the enterprise's tasks, a delivery
    to accept, a payment due, an agency's funded milestone, a bank transfer to confirm and a
    dispute."""
    delivered = award([300_000, 200_000], title="Paint line robot")
    fund(delivered.milestones[0], people.owner, people.managers["qingdao"])
    deliver(people.solver, delivered.milestones[0])
    brokered = award([300_000, 200_000], brokerage_bps=1000, title="Sorting cell")
    fund(brokered.milestones[0], people.owner, people.managers["qingdao"])
    disputed = award(title="Kiln control")
    fund(disputed.milestones[0], people.owner, people.managers["qingdao"])
    deliver(people.solver, disputed.milestones[0])
    with transaction():
        fundings.start_funding(people.owner, brokered.milestones[1])
        disputes.open_dispute(people.owner, disputed.milestones[0].id, "The report is missing.")
    make_bid(people.broker, make_task(people.owner, people.enterprise, title="Weld seams"))
    offered = make_task(people.owner, people.enterprise, title="Glass inspection")
    with transaction():
        offers.offer_bid(Signer(people.owner, "127.0.0.1"), make_bid(people.solver, offered))
    award(title="Press line")  # its first milestone waits for the enterprise's payment
    make_task(people.zibo_owner, people.zibo_enterprise, title="Glaze mixing")


@pytest.mark.parametrize("language", ["English", "中文"])
@pytest.mark.parametrize("who", list(EXPECTED))
def test_each_roles_home_page_lists_its_work_and_has_no_accessibility_violation(
    page, live_server, people, market, screenshot, who, language
):
    user = {
        "enterprise": people.owner,
        "solver": people.solver,
        "agency": people.broker,
        "manager": people.managers["qingdao"],
        "admin": people.admin,
    }[who]
    log_in(page, live_server, user.email)
    page.get_by_test_id("user-menu").wait_for()
    page.get_by_role("button", name=language).click()  # signed in: the user's language
    page.get_by_test_id("todo-link").click()
    heading = "To do" if language == "English" else "待办事项"
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    for name in EXPECTED[who]:
        expect(page.get_by_test_id(name).locator("li, p").first).to_be_visible()
        if name != "todo-jobs":
            expect(page.get_by_test_id(name).get_by_role("link").first).to_be_visible()
    if language == "English":
        screenshot(page, f"home-{who}")
    page.evaluate(AXE)
    found = page.evaluate("rules => axe.run(document, rules)", RULES)["violations"]
    assert [(v["id"], v["nodes"][0]["target"]) for v in found] == []
