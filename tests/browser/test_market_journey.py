"""The market in a real browser: an enterprise posts and publishes a task, a solver finds it,
asks and bids, an agency bids for an institution, the enterprise answers, compares,
shortlists, compares side by side, asks the solver privately and offers the contract while bidding
is open (ending it); the solver signs and reads both signatures in the PDF; the agency learns
that its bid was not selected."""

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pypdf
from playwright.sync_api import expect

from tests.plugin import log_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
TITLE = "Graphene coating for offshore jackets"


def fill_milestone(page, row, title, amount, due):
    cells = page.get_by_test_id("milestone-row").nth(row)
    cells.get_by_label("Milestone").fill(title)
    cells.get_by_label("Amount (yuan)").fill(amount)
    cells.get_by_label("Due date").fill(due.isoformat())


def post_draft(page, base_url, center, today):
    """The enterprise member fills in /tasks/new and saves the draft."""
    page.goto(f"{base_url}/tasks/new")
    expect(page.get_by_role("heading", name="Post a task")).to_be_visible()
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Summary", exact=True).fill(
        "A coating system for the splash zone that lasts 15 years."
    )
    page.get_by_label("Description", exact=True).fill(
        "Our jackets rust in the splash zone after **five years**.\n\n"
        "- ISO 12944-9 CX\n- sprayable on our line"
    )
    page.get_by_label("Contract type", exact=True).select_option("development")
    page.get_by_label("Innovation center").select_option(str(center.id))
    page.get_by_label("Fields", exact=True).fill("海洋工程, new materials")
    page.get_by_label("Required skills").fill("coatings, electrochemistry")
    page.get_by_label("Budget from (yuan)").fill("300000")
    page.get_by_label("Budget up to (yuan)").fill("500000")
    deadline = dt.datetime.combine(today + dt.timedelta(days=10), dt.time(17, 0))
    page.get_by_label("Bid deadline").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Expected delivery date").fill((today + dt.timedelta(days=180)).isoformat())
    page.get_by_label("Bid mode").select_option("sealed")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Your draft is saved.")).to_be_visible()
    expect(page.get_by_test_id("task-status")).to_have_text("draft")


def test_post_bid_compare_award(
    page, new_page, live_server, make_user, make_org, centers, screenshot
):
    today = dt.datetime.now(SHANGHAI).date()
    owner = make_user(email="li.wei@example.com", name="Li Wei")
    make_org(owner, name="Haian Robotics", kind="enterprise")
    make_user(email="zhao.lei@example.com", name="Zhao Lei")
    agent = make_user(email="chen.jing@example.com", name="Chen Jing")
    make_org(agent, name="Qilu Transfer Center", kind="agency", ownership="private")
    director = make_user(email="director@example.com", name="Director Wang")
    make_org(
        director,
        name="Qingdao Marine Engineering Institute",
        kind="institution",
        ownership="research_institute",
        center=centers["laoshan"],
    )
    page.on("dialog", lambda dialog: dialog.accept())

    # The enterprise posts a draft and publishes it.
    log_in(page, live_server, "li.wei@example.com")
    post_draft(page, live_server, centers["laoshan"], today)
    screenshot(page, "draft")
    page.get_by_test_id("owner-actions").get_by_role("button", name="Publish").click()
    expect(page.get_by_text("The task is published and open for bids.")).to_be_visible()
    expect(page.get_by_test_id("task-status")).to_have_text("open for bids")
    task_url = page.url

    # A solver finds it by keyword, asks a question and bids with two milestones.
    solver = new_page()
    log_in(solver, live_server, "zhao.lei@example.com")
    solver.goto(f"{live_server}/tasks")
    solver.get_by_label("Keywords").fill("graphene offshore")
    solver.get_by_role("button", name="Search", exact=True).click()
    expect(solver.get_by_test_id("result-count")).to_have_text("1 task found")
    solver.get_by_role("link", name=TITLE).click()
    solver.get_by_label("Your question").fill("Do you need a CMA-certified salt-spray test report?")
    solver.get_by_role("button", name="Ask").click()
    expect(solver.get_by_text("Your question has been sent.")).to_be_visible()
    expect(solver.get_by_test_id("question")).to_contain_text("CMA-certified")
    solver.get_by_role("link", name="Place a bid").click()
    solver.get_by_label("Price (yuan)").fill("420000")
    solver.get_by_label("Duration (days)").fill("150")
    solver.get_by_label("Proposal", exact=True).fill(
        "A graphene-modified epoxy primer with a polysiloxane top."
    )
    fill_milestone(solver, 0, "Formulation and lab tests", "180000", today + dt.timedelta(days=60))
    fill_milestone(solver, 1, "Pilot and sea exposure", "240000", today + dt.timedelta(days=150))
    screenshot(solver, "solver-bid-form")
    solver.get_by_role("button", name="Submit bid").click()
    expect(solver.get_by_text("Your bid has been submitted.")).to_be_visible()
    expect(solver.get_by_test_id("bid-status")).to_have_text("submitted")
    expect(solver.get_by_test_id("price")).to_have_text("¥420,000.00")

    # An agency member bids for the agency, for a payee institute with a brokerage rate.
    agency = new_page()
    log_in(agency, live_server, "chen.jing@example.com")
    agency.goto(task_url)
    agency.get_by_role("link", name="Place a bid").click()
    agency.get_by_label("Bid as").select_option(label="Qilu Transfer Center")
    agency.get_by_label("Payee institution").select_option(
        label="Qingdao Marine Engineering Institute"
    )
    agency.get_by_label("Agency brokerage (转化佣金), %").fill("15")
    agency.get_by_label("Price (yuan)").fill("450000")
    agency.get_by_label("Duration (days)").fill("160")
    agency.get_by_label("Proposal", exact=True).fill(
        "The institute's corrosion team does the work."
    )
    agency.get_by_role("button", name="Add a milestone").click()
    expect(agency.get_by_test_id("milestone-row")).to_have_count(4)
    amounts = ["100000", "120000", "130000", "100000"]
    for row, amount in enumerate(amounts):
        due = today + dt.timedelta(days=40 * (row + 1))
        fill_milestone(agency, row, f"Stage {row + 1}", amount, due)
    screenshot(agency, "agency-bid-form")
    agency.get_by_role("button", name="Submit bid").click()
    expect(agency.get_by_text("Your bid has been submitted.")).to_be_visible()
    expect(agency.get_by_text("Qingdao Marine Engineering Institute")).to_be_visible()
    expect(agency.get_by_text("15%")).to_be_visible()
    screenshot(agency, "agency-bid")

    # The enterprise answers, compares, shortlists, ends bidding and awards the solver.
    page.goto(task_url)
    question = page.get_by_test_id("question")
    question.get_by_label("Answer").fill("Yes, from a CMA-certified laboratory.")
    question.get_by_role("button", name="Answer").click()
    expect(page.get_by_test_id("answer")).to_contain_text("CMA-certified laboratory")
    page.get_by_role("link", name=re.compile(r"Compare bids \(2\)")).click()
    rows = page.get_by_test_id("bid-row")
    expect(rows).to_have_count(2)
    solver_row = rows.filter(has_text="Zhao Lei")
    expect(rows.filter(has_text="Qilu Transfer Center")).to_contain_text("brokerage 15%")
    expect(rows.first).to_contain_text("Zhao Lei")  # sorted by price, the cheaper first
    page.get_by_test_id("sort-price").click()  # and the other way round
    expect(rows.first).to_contain_text("Qilu Transfer Center")
    solver_row.get_by_role("button", name="Shortlist").click()
    expect(page.get_by_text("The bid is on your shortlist")).to_be_visible()
    expect(solver_row).to_contain_text("shortlisted")
    for row in (solver_row, rows.filter(has_text="Qilu Transfer Center")):
        row.get_by_role("checkbox").check()
    page.get_by_test_id("compare-ticked").click()
    expect(page.get_by_test_id("side-by-side")).to_contain_text("¥450,000.00")
    expect(page.get_by_test_id("side-by-side")).to_contain_text("Formulation and lab tests")
    screenshot(page, "compare")

    # Before choosing, the enterprise asks the solver privately; the solver answers.
    solver_row.get_by_role("link", name="Zhao Lei").click()
    page.get_by_label("Message").fill("Can you start the sea exposure before winter?")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_test_id("bid-message")).to_contain_text("before winter")
    solver.goto(f"{live_server}/bids/mine")
    expect(solver.get_by_test_id("unread-messages")).to_have_text("1 unread message")
    solver.get_by_test_id("unread-messages").click()
    solver.get_by_label("Message").fill("Yes: the panels go into the sea in October.")
    solver.get_by_role("button", name="Send message").click()
    expect(solver.get_by_test_id("bid-message").nth(1)).to_contain_text("October")
    agency.goto(f"{live_server}/bids/mine")
    agency.get_by_test_id("my-bid-row").filter(has_text=TITLE).get_by_role("link").first.click()
    expect(agency.get_by_text("before winter")).to_have_count(0)  # private to its two sides

    # The enterprise offers the contract while bidding is still open: that ends it too.
    page.goto(f"{task_url}/bids")
    expect(page.get_by_test_id("unread-messages")).to_have_text("1 unread message")
    solver_row.get_by_role("button", name="Offer the contract").click()
    expect(page.get_by_text("You signed and offered the contract to Zhao Lei")).to_be_visible()
    expect(page.get_by_test_id("signature-client")).to_contain_text("Li Wei")
    expect(page.get_by_test_id("signature-solver")).to_contain_text("not signed yet")
    digest = page.get_by_test_id("offer-sha256").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)

    # The solver reads the offer from the notification and signs.
    solver.on("dialog", lambda dialog: dialog.accept())
    solver.goto(f"{live_server}/notifications")
    solver.get_by_test_id("notification").filter(has_text="You are offered the contract").click()
    expect(solver.get_by_test_id("offer-price")).to_have_text("¥420,000.00")
    solver.get_by_role("button", name="Accept and sign").click()
    expect(
        solver.get_by_role("heading", name=re.compile(r"^Contract CS-\d{4}-\d{6}$"))
    ).to_be_visible()
    expect(solver.get_by_test_id("signatures-intact")).to_be_visible()
    expect(solver.get_by_test_id("contract-sha256")).to_have_text(digest)
    expect(solver.get_by_test_id("signature-solver")).to_contain_text("Zhao Lei")
    expect(solver.get_by_test_id("payee")).to_have_text("Zhao Lei")
    expect(solver.get_by_test_id("contract-price")).to_have_text("¥420,000.00")
    expect(solver.get_by_test_id("contract-milestone")).to_have_count(2)
    href = solver.get_by_test_id("contract-pdf").get_attribute("href")
    document = solver.request.get(f"{live_server}{href}?lang=en")  # with the solver's session
    assert document.headers["content-type"] == "application/pdf"
    pdf = pypdf.PdfReader(io.BytesIO(document.body()))
    text = "".join(p.extract_text() for p in pdf.pages).replace("\n", "")
    assert "Li Wei" in text and "Zhao Lei" in text and digest in text
    screenshot(solver, "contract")
    solver.get_by_test_id("pre-contract").click()
    expect(solver.get_by_test_id("bid-message")).to_have_count(2)

    # The agency learns that its bid was not selected.
    agency.goto(f"{live_server}/bids/mine")
    row = agency.get_by_test_id("my-bid-row").filter(has_text=TITLE)
    expect(row).to_contain_text("not selected")
    expect(row).to_contain_text("awarded")
    expect(agency.get_by_test_id("unread-count")).to_be_visible()
    screenshot(agency, "not-selected")
    agency.get_by_test_id("notifications-link").click()
    expect(agency.get_by_test_id("notification").first).to_contain_text("was not selected")
