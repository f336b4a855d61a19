"""A profile that sells, in a real browser: the solver saves a payout account, adds a portfolio
item with an image and proposes a completed contract; the enterprise agrees; the public profile
shows the item, its image, the contract and a visible rating comment; the solver asks for a
payout to the saved account."""

import pathlib
import struct
import zlib

import sqlalchemy as sa
from playwright.sync_api import expect

from crowdsource.accounts import centers as center_services
from crowdsource.bids import offers
from crowdsource.contracts import ratings
from crowdsource.db import transaction
from crowdsource.payments.models import Payout
from crowdsource.tasks import services as task_services
from tests.payments.support import accept, deliver, fund
from tests.plugin import log_in

AXE = (pathlib.Path(__file__).resolve().parent / "vendor" / "axe.min.js").read_text()
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def violations(page):
    """axe-core's WCAG A and AA violations of the page (as tests/browser/test_accessibility)."""
    page.evaluate(AXE)
    found = page.evaluate("rules => axe.run(document, rules)", RULES)["violations"]
    return [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"]) for v in found]


def png_image(width=4, height=3):
    """A real (tiny, blue) PNG that a browser can draw."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_solver_shows_work_and_is_paid_to_a_saved_account(
    live_server,
    db,
    make_user,
    make_org,
    make_task,
    make_bid,
    centers,
    new_page,
    screenshot,
    tmp_path,
):
    owner = make_user(email="li.wei@haian.example", name="Li Wei")
    enterprise = make_org(owner, name="Haian Robotics", center=centers["laoshan"])
    solver = make_user(email="zhao.lei@example.com", name="Zhao Lei")
    manager = make_user(email="wang@qingdao.example", name="Wang Haitao")
    with transaction():
        center_services.make_manager(manager, centers["qingdao"])
    task = make_task(owner, enterprise, title="Weld seam inspection line")
    bid = make_bid(solver, task, price_fen=3_000_000, milestones=None)
    with transaction():
        task_services.close_bidding(owner, task)
        contract = offers.sign_both(owner, bid)
    for milestone in contract.milestones:
        fund(milestone, owner, manager)
        deliver(solver, milestone)
        accept(owner, milestone)
    with transaction():
        ratings.rate(owner, contract, 5, "Delivered the camera line two weeks early.")
        ratings.rate(solver, contract, 5, "Clear requirements.")

    worker = new_page()
    worker.on("dialog", lambda dialog: dialog.accept())
    log_in(worker, live_server, solver.email)
    worker.goto(f"{live_server}/account/profile")
    worker.get_by_role("link", name="Payout accounts").click()
    form = worker.get_by_test_id("add-details")
    form.get_by_label("Account name").fill("Zhao Lei")
    form.get_by_label("Bank").fill("ICBC Qingdao Laoshan")
    form.get_by_label("Account number").fill("6222 0212 3456 6789")
    form.get_by_role("button", name="Save the account").click()
    expect(worker.get_by_test_id("masked-number")).to_have_text("•••• 6789")
    expect(worker.locator("body")).not_to_contain_text("6222 0212")
    screenshot(worker, "payout-accounts")
    assert violations(worker) == []

    image = tmp_path / "weld-line.png"
    image.write_bytes(png_image())
    worker.goto(f"{live_server}/users/{solver.id}")
    worker.get_by_role("link", name="Edit the portfolio").click()
    form = worker.get_by_test_id("add-item")
    form.get_by_label("Title").fill("Weld seam inspection")
    form.get_by_label("Description").fill("A camera line finding **0.2 mm** seam defects.")
    form.get_by_label("Images and files").set_input_files(str(image))
    form.get_by_role("button", name="Add the item").click()
    expect(worker.get_by_test_id("item-file")).to_contain_text("weld-line.png")
    assert violations(worker) == []
    proposal = worker.get_by_test_id("propose-contract")
    proposal.get_by_label("Completed contract").select_option(
        label=f"{contract.number} · {task.title}"
    )
    proposal.get_by_role("button", name="Ask the enterprise to agree").click()
    expect(worker.get_by_test_id("link-state")).to_contain_text("once the enterprise agrees")

    client = new_page()
    log_in(client, live_server, owner.email)
    client.goto(f"{live_server}/notifications")
    client.get_by_text("asks to show this contract").first.click()
    expect(client.get_by_test_id("link-state")).to_have_text("Waiting for your side to agree.")
    assert violations(client) == []
    client.get_by_role("button", name="Agree to show it").click()
    expect(client.get_by_test_id("link-state")).to_contain_text("Your side agreed")

    visitor = new_page()
    visitor.goto(f"{live_server}/users/{solver.id}")
    item = visitor.get_by_test_id("portfolio-item")
    expect(item).to_contain_text("Weld seam inspection")
    expect(item.get_by_test_id("portfolio-contract")).to_contain_text(contract.number)
    expect(item.get_by_test_id("portfolio-contract")).to_contain_text(task.title)
    preview = item.get_by_test_id("portfolio-image")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => img.complete && img.naturalWidth") == 4
    rating = visitor.get_by_test_id("profile-rating")
    expect(rating).to_contain_text("Delivered the camera line two weeks early.")
    expect(rating).to_contain_text("Haian Robotics")
    screenshot(visitor, "public-profile")
    assert violations(visitor) == []

    worker.goto(f"{live_server}/users/{solver.id}")
    worker.get_by_role("link", name="Edit the portfolio").click()
    assert violations(worker) == []
    worker.goto(f"{live_server}/earnings")
    payable = worker.get_by_test_id("payable")
    payable.get_by_text("Request a payout").click()
    assert violations(worker) == []
    payable.get_by_label("Saved account").select_option(
        label="ICBC Qingdao Laoshan · Zhao Lei · •••• 6789"
    )
    payable.get_by_role("button", name="Request payout").click()
    expect(worker.get_by_test_id("payout-destination")).to_have_text(
        "to ICBC Qingdao Laoshan, •••• 6789"
    )
    screenshot(worker, "payout-to-saved-account")
    db.session.rollback()  # what the server committed
    payout = db.session.scalars(sa.select(Payout)).one()
    assert payout.bank_account_number == "6222021234566789"
    assert payout.payout_details_id is not None
