"""A bank transfer followed in a real browser: the enterprise copies the account and the
reference, reports its transfer with the bank's receipt, the manager sees the receipt beside the
amount due and the reference and confirms it, and the milestone shows funded on both sides."""

import datetime as dt

from playwright.sync_api import expect

from crowdsource.accounts import centers as center_services
from crowdsource.bids import offers
from crowdsource.db import transaction
from crowdsource.payments import ledger
from crowdsource.tasks import services as task_services
from tests.plugin import log_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_the_enterprise_reports_a_transfer_with_its_receipt_and_the_manager_confirms_it(
    live_server, db, make_user, make_org, make_task, make_bid, centers, new_page, screenshot
):
    owner = make_user(email="li.wei@haian.example", name="Li Wei")
    enterprise = make_org(owner, name="Haian Robotics", center=centers["laoshan"])
    solver = make_user(email="zhao.lei@example.com", name="Zhao Lei")
    manager = make_user(email="wang@qingdao.example", name="Wang Haitao")
    with transaction():
        center_services.make_manager(manager, centers["qingdao"])
    task = make_task(owner, enterprise)
    bid = make_bid(solver, task, price_fen=6_000_000)  # two milestones of ¥30,000
    with transaction():
        task_services.close_bidding(owner, task)
        contract = offers.sign_both(owner, bid)
    first = contract.milestones[0]

    client = new_page()
    log_in(client, live_server, owner.email)
    client.goto(f"{live_server}/contracts/{contract.id}")
    row = client.get_by_test_id("contract-milestone").first
    expect(row.get_by_test_id("transfer-status")).to_have_text("payment due")
    row.get_by_role("button", name="Pay into escrow").click()
    reference = client.get_by_test_id("reference").inner_text()
    # the copy buttons appear where the browser can copy (app.js)
    expect(client.get_by_role("button", name="Copy")).to_have_count(2)
    client.get_by_label("Amount transferred (yuan)").fill("30,000")
    client.get_by_label("Date of the transfer").fill(dt.date.today().isoformat())
    client.get_by_label("Bank receipt (银行回单)").set_input_files(
        {"name": "huidan.png", "mimeType": "image/png", "buffer": PNG}
    )
    client.get_by_role("button", name="Report the transfer").click()
    expect(client.get_by_text("A manager of the innovation center checks")).to_be_visible()
    expect(client.get_by_test_id("transfer-status")).to_have_text("transfer reported")
    screenshot(client, "transfer-reported")

    office = new_page()
    log_in(office, live_server, manager.email)
    office.goto(f"{live_server}/manage/payments")
    transfer = office.get_by_test_id("transfer").filter(has_text=reference)
    expect(transfer.get_by_test_id("transfer-status")).to_have_text("transfer reported")
    expect(transfer.get_by_test_id("expected-amount")).to_contain_text("¥30,000.00")
    expect(transfer.get_by_role("img", name="Bank receipt huidan.png")).to_be_visible()
    screenshot(office, "transfer-with-receipt")
    transfer.get_by_label("Amount received (yuan)").fill("30,000")
    transfer.get_by_label("Bank reference").fill("ICBC-20261204-001")
    transfer.get_by_role("button", name="Record as received").click()
    expect(office.get_by_text("Transfer recorded")).to_be_visible()

    for person in (client, new_page()):
        if person is not client:
            log_in(person, live_server, solver.email)
        person.goto(f"{live_server}/contracts/{contract.id}")
        row = person.get_by_test_id("contract-milestone").first
        expect(row.get_by_test_id("milestone-status")).to_have_text("funded")
        expect(row.get_by_test_id("transfer-status")).to_have_text("payment confirmed")
        expect(row.get_by_test_id("in-escrow")).to_have_text("¥30,000.00")
    db.session.rollback()  # read what the server committed
    assert ledger.balance(f"escrow:milestone:{first.id}") == 3_000_000
