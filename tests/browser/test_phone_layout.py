"""The pages of a task, a bid and a contract on a phone 390 px wide: nothing scrolls sideways
and every button and form field lies within the screen; and an enterprise accepts a delivery
on the contract page by tapping, in the phone layout."""

import pytest
from playwright.sync_api import expect

from crowdsource.contracts.models import MilestoneStatus
from crowdsource.db import db
from tests.payments.support import deliver, fund, reload
from tests.plugin import log_in

PHONE = {"width": 390, "height": 844}

#: what lies beyond the screen's width: the document itself, or a visible control
OUTSIDE = """() => {
  const width = window.innerWidth;
  const found = [];
  const root = document.documentElement;
  if (root.scrollWidth > width) found.push(`the page is ${root.scrollWidth} px wide`);
  const controls = "button, input:not([type=hidden]), select, textarea, a.btn, summary";
  for (const box of document.querySelectorAll("main *")) {
    const style = getComputedStyle(box);
    if (["auto", "scroll"].includes(style.overflowX) && box.scrollWidth > box.clientWidth + 1
        && box.querySelector(controls)) {
      found.push(`a box with controls scrolls sideways (${box.scrollWidth} px in ${box.clientWidth})`);
    }
    box.scrollLeft = 0;  // where a click scrolled it: the controls as the page first shows them
  }
  for (const element of document.querySelectorAll(controls)) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown (a folded form, a menu)
    if (box.left < -0.5 || box.right > width + 0.5) {
      const name = (element.innerText || element.name || element.id || "").trim().slice(0, 40);
      const where = `${Math.round(box.left)}–${Math.round(box.right)}`;
      found.push(`${element.tagName.toLowerCase()} "${name}" at ${where}`);
    }
  }
  return found;
}"""


@pytest.fixture
def phone(browser):
    """A page in a phone-sized browser context."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def world(people, award, make_task, make_bid):
    """A task with a bid; a contract whose first milestone is delivered and awaits the
    enterprise, whose second is funded and awaits the solver's delivery."""
    contract = award([300_000, 200_000])
    first, second = contract.milestones
    fund(first, people.owner, people.managers["qingdao"])
    fund(second, people.owner, people.managers["qingdao"], bank_reference="ICBC-0002")
    deliver(people.solver, first)
    task = make_task(people.owner, people.enterprise, title="Weld seam inspection")
    bid = make_bid(people.solver, task)
    return {"task": task.id, "bid": bid.id, "contract": contract.id, "milestone": first}


#: who opens which pages, and what to unfold on them first (the forms folded in <details>)
PAGES = {
    None: ["/tasks/{task}"],
    "solver": ["/tasks/{task}", "/tasks/{task}/bid", "/bids/{bid}", "/contracts/{contract}"],
    "owner": ["/tasks/{task}", "/bids/{bid}", "/contracts/{contract}"],
}


@pytest.mark.parametrize("who", list(PAGES))
def test_nothing_lies_beyond_the_width_of_a_phone(phone, live_server, people, world, who):
    if who is not None:
        log_in(phone, live_server, getattr(people, who).email)
        phone.wait_for_url(lambda url: "/login" not in url)
    found = {}
    for path in PAGES[who]:
        phone.goto(live_server + path.format(**world))
        expect(phone.locator("main")).to_be_visible()
        for folded in phone.locator("main details:not([open]) > summary").all():
            folded.click()  # the folded forms too: delivery, change request, cancellation
        if problems := phone.evaluate(OUTSIDE):
            found[path] = problems
    assert found == {}


def test_on_a_phone_the_enterprise_accepts_a_delivery_and_sees_it_released(
    phone, live_server, people, world, screenshot
):
    phone.on("dialog", lambda dialog: dialog.accept())
    log_in(phone, live_server, people.owner.email)
    phone.wait_for_url(lambda url: "/login" not in url)
    phone.goto(f"{live_server}/contracts/{world['contract']}")
    row = phone.get_by_test_id("contract-milestone").first
    expect(row.get_by_test_id("milestone-status")).to_have_text("delivered, awaiting acceptance")
    accept = row.get_by_role("button", name="Accept and release")
    accept.scroll_into_view_if_needed()
    box = accept.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(phone, "before")
    accept.tap()
    expect(phone.get_by_text("Accepted.")).to_be_visible()
    expect(row.get_by_test_id("milestone-status")).to_have_text("released")
    db.session.rollback()  # read what the server has committed, not an older snapshot
    assert reload(world["milestone"]).status == MilestoneStatus.RELEASED
    screenshot(phone, "released")


def test_the_cancel_form_of_a_task_stays_folded_until_asked_for(phone, live_server, people, world):
    log_in(phone, live_server, people.owner.email)
    phone.wait_for_url(lambda url: "/login" not in url)
    phone.goto(f"{live_server}/tasks/{world['task']}")
    cancel = phone.get_by_role("button", name="Cancel task")
    expect(cancel).to_be_hidden()
    phone.get_by_test_id("cancel-task").get_by_text("Cancel this task").tap()
    expect(cancel).to_be_visible()
    expect(phone.get_by_test_id("cancel-task").locator("textarea")).to_be_visible()
