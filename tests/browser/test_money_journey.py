"""Money in a real browser: the enterprise pays a milestone into escrow by bank transfer, the
center manager records it, the solver delivers, the enterprise accepts, the payee asks for its
money and the manager records the payout."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from crowdsource.accounts import centers as center_services
from crowdsource.bids import offers
from crowdsource.db import transaction
from crowdsource.payments import ledger, reconcile
from crowdsource.payments.models import Funding
from crowdsource.tasks import services as task_services
from tests.plugin import log_in


def test_fund_confirm_deliver_accept_and_pay_out(
    live_server,
    db,
    make_user,
    make_org,
    make_task,
    make_bid,
    centers,
    new_page,
    screenshot,
):
    owner = make_user(email="li.wei@haian.example", name="Li Wei")
    enterprise = make_org(owner, name="Haian Robotics", center=centers["laoshan"])
    solver = make_user(email="zhao.lei@example.com", name="Zhao Lei")
    manager = make_user(email="wang@qingdao.example", name="Wang Haitao")
    with transaction():
        center_services.make_manager(manager, centers["qingdao"])
    task = make_task(owner, enterprise)
    bid = make_bid(solver, task, price_fen=6_000_000)  # ¥60,000 in two milestones of ¥30,000
    with transaction():
        task_services.close_bidding(owner, task)
        contract = offers.sign_both(owner, bid)
    first = contract.milestones[0]

    client = new_page()
    client.on("dialog", lambda dialog: dialog.accept())
    log_in(client, live_server, owner.email)
    client.goto(f"{live_server}/contracts/{contract.id}")
    expect(client.get_by_test_id("awaiting-funding")).to_be_visible()
    client.get_by_role("button", name="Pay into escrow").click()
    expect(client.get_by_test_id("amount-due")).to_have_text("¥30,000.00")
    reference = client.get_by_test_id("reference").inner_text()
    screenshot(client, "transfer-instructions")

    office = new_page()
    log_in(office, live_server, manager.email)
    office.get_by_test_id("manage-payments").click()
    transfer = office.get_by_test_id("transfer").filter(has_text=reference)
    transfer.get_by_label("Amount received (yuan)").fill("29000")
    transfer.get_by_label("Bank reference").fill("ICBC-20261127-001")
    transfer.get_by_role("button", name="Record as received").click()
    # Refused: the managers' page again, the amount as typed and the reason next to it.
    transfer = office.get_by_test_id("transfer").filter(has_text=reference)
    expect(transfer.get_by_label("Amount received (yuan)")).to_have_value("29000")
    expect(transfer.get_by_label("Bank reference")).to_have_value("ICBC-20261127-001")
    expect(transfer.locator('[data-field="amount"]')).to_contain_text("is not the amount due")
    db.session.rollback()  # read what the server has committed, not an older snapshot
    assert ledger.balance(f"escrow:milestone:{first.id}") == 0  # nothing posted
    db.session.rollback()
    office.goto(f"{live_server}/manage/payments")
    transfer = office.get_by_test_id("transfer").filter(has_text=reference)
    transfer.get_by_label("Amount received (yuan)").fill("30,000")
    transfer.get_by_label("Bank reference").fill("ICBC-20261127-001")
    transfer.get_by_role("button", name="Record as received").click()
    expect(office.get_by_text("Transfer recorded")).to_be_visible()
    screenshot(office, "transfer-recorded")

    worker = new_page()
    log_in(worker, live_server, solver.email)
    worker.goto(f"{live_server}/tasks/{task.id}")
    expect(worker.get_by_test_id("funded")).to_be_visible()
    worker.goto(f"{live_server}/contracts/{contract.id}")
    row = worker.get_by_test_id("contract-milestone").first
    expect(row.get_by_test_id("in-escrow")).to_have_text("¥30,000.00")
    row.get_by_text("Deliver", exact=True).click()
    row.get_by_label("What you deliver").fill("Prototype and test report in the shared folder.")
    row.get_by_role("button", name="Submit delivery").click()
    expect(worker.get_by_text("Delivered.")).to_be_visible()

    client.goto(f"{live_server}/contracts/{contract.id}")
    row = client.get_by_test_id("contract-milestone").first
    row.get_by_role("button", name="Accept and release").click()
    expect(client.get_by_text("Accepted.")).to_be_visible()
    expect(row.get_by_test_id("milestone-status")).to_have_text("released")
    screenshot(client, "released")

    # 5 % platform commission by default: ¥28,500.00 for the solver.
    worker.goto(f"{live_server}/earnings")
    payable = worker.get_by_test_id("payable")
    expect(payable.get_by_test_id("balance")).to_have_text("¥28,500.00")
    payable.get_by_text(re.compile("Request a payout")).click()
    payable.get_by_label("Account name").fill("Zhao Lei")
    payable.get_by_label("Bank").fill("Bank of Qingdao")
    payable.get_by_label("Account number").fill("6214 8888 0000 1234")
    payable.get_by_role("button", name="Request payout").click()
    expect(worker.get_by_test_id("payout")).to_contain_text("requested")

    office.goto(f"{live_server}/manage/payments")
    payout = office.get_by_test_id("payout-to-send")
    expect(payout).to_contain_text("¥28,500.00")
    payout.get_by_label("Bank reference of the transfer sent").fill("BQD-OUT-778")
    payout.get_by_role("button", name="Record as sent").click()
    expect(office.get_by_text("Payout recorded as sent.")).to_be_visible()

    worker.goto(f"{live_server}/earnings")
    expect(worker.get_by_test_id("balance")).to_have_text("¥0.00")
    expect(worker.get_by_test_id("payout")).to_contain_text("sent")
    screenshot(worker, "paid-out")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Funding.id))) == 1
    assert reconcile.everything() == []
