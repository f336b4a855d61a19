"""Disputes in a real browser: the enterprise disputes a delivered milestone with evidence, the
agency responds, a manager of Qingdao takes the case and rules 60/40; the ruling is final after
the appeal window and the ledger holds exactly the split and its fees. Then an appeal to the
parent center replaces a ruling before any money moved."""

import datetime as dt

from playwright.sync_api import expect

from crowdsource.disputes.models import Dispute
from crowdsource.payments import ledger, reconcile
from crowdsource.sweep import sweep_due
from tests.plugin import log_in


def open_and_answer(live_server, new_page, people, case, tmp_path):
    """The enterprise opens the dispute with a file; the agency responds. Returns the pages."""
    evidence = tmp_path / "acceptance-protocol.pdf"
    evidence.write_bytes(b"%PDF-1.4 acceptance protocol, signed")
    client = new_page()
    client.on("dialog", lambda dialog: dialog.accept())
    log_in(client, live_server, people.owner.email)
    client.goto(f"{live_server}/contracts/{case.contract.id}")
    client.get_by_test_id("open-dispute").first.click()
    client.get_by_label("What is the dispute about?").fill(
        "The model misses half the solder defects under our line's lighting."
    )
    client.get_by_label("Evidence (files)").set_input_files(str(evidence))
    client.get_by_role("button", name="Open the dispute").click()
    expect(client.get_by_text("The dispute is open and the escrow is frozen.")).to_be_visible()
    expect(client.get_by_test_id("dispute-status")).to_have_text("waiting for the response")
    expect(client.get_by_test_id("evidence-file")).to_have_text("acceptance-protocol.pdf")

    agency = new_page()
    log_in(agency, live_server, people.broker.email)
    agency.goto(f"{live_server}/contracts/{case.contract.id}")
    agency.get_by_test_id("dispute-link").click()
    agency.get_by_label("Message").fill("The agreed test set passes at 95 %.")
    agency.get_by_role("button", name="Send the response").click()
    expect(agency.get_by_test_id("dispute-status")).to_have_text("responded, waiting for a manager")
    return client, agency


def take_and_rule(live_server, new_page, manager, release, refund, accepted=True):
    office = new_page()
    office.on("dialog", lambda dialog: dialog.accept())
    log_in(office, live_server, manager.email)
    office.goto(f"{live_server}/disputes")
    office.get_by_test_id("case").first.get_by_role("link").click()
    office.get_by_role("button", name="Take this case").click()
    expect(office.get_by_test_id("manager")).to_have_text(manager.display_name)
    form = office.get_by_test_id("ruling-form")
    form.get_by_label("Release to the payee (yuan)").fill(release)
    form.get_by_label("Refund to the enterprise (yuan)").fill(refund)
    form.get_by_label("Reasons for the ruling").fill("Half of the defects are found.")
    form.get_by_role("button", name="Record the ruling").click()
    if accepted:
        expect(office.get_by_test_id("dispute-status")).to_have_text("ruled, open to appeal")
    return office


def test_a_dispute_ruled_60_40_is_final_after_the_appeal_window_with_the_split_in_the_ledger(
    live_server, db, people, case, new_page, screenshot, tmp_path
):
    client, agency = open_and_answer(live_server, new_page, people, case, tmp_path)
    office = take_and_rule(
        live_server, new_page, people.managers["qingdao"], "10000", "50", accepted=False
    )
    # Refused: the case page again, the ruling as typed and the reason at the amount.
    form = office.get_by_test_id("ruling-form")
    expect(form.locator('[data-field="release"]')).to_contain_text("must add up to")
    expect(form.get_by_label("Release to the payee (yuan)")).to_have_value("10000")
    expect(form.get_by_label("Reasons for the ruling")).to_have_value(
        "Half of the defects are found."
    )
    form.get_by_label("Release to the payee (yuan)").fill("6,060")
    form.get_by_label("Refund to the enterprise (yuan)").fill("4040")
    form.get_by_label("Reasons for the ruling").fill("Half of the defects are found.")
    form.get_by_role("button", name="Record the ruling").click()
    expect(office.get_by_test_id("dispute-status")).to_have_text("ruled, open to appeal")
    screenshot(office, "ruled")

    client.reload()
    expect(client.get_by_test_id("ruling-amounts")).to_have_text(
        "¥6,060.00 released to the payee, ¥4,040.00 refunded to the enterprise."
    )
    expect(client.get_by_test_id("appeal-window")).to_be_visible()
    db.session.rollback()
    assert ledger.balance(f"escrow:milestone:{case.milestone.id}") == 1_010_000

    db.session.rollback()
    dispute = db.session.scalars(db.select(Dispute)).one()
    sweep_due(dispute.appeal_due_at + dt.timedelta(minutes=1))

    client.reload()
    expect(client.get_by_test_id("dispute-status")).to_have_text("final")
    client.goto(f"{live_server}/contracts/{case.contract.id}")
    row = client.get_by_test_id("contract-milestone").first
    expect(row.get_by_test_id("milestone-status")).to_have_text("split by ruling")
    expect(row.get_by_test_id("in-escrow")).to_have_text("¥0.00")
    screenshot(client, "final")
    agency.goto(f"{live_server}/earnings")
    expect(agency.get_by_test_id("payable").first).to_be_visible()

    db.session.rollback()
    contract_id = case.contract.id
    assert ledger.balance(f"payable:contract:{contract_id}:payee") == 510_000
    assert ledger.balance(f"payable:contract:{contract_id}:agency") == 60_000
    assert ledger.balance(f"payable:contract:{contract_id}:client") == 404_000
    assert ledger.balance("revenue:commission") == 30_000
    assert ledger.balance("revenue:client-fee") == 6_000
    assert reconcile.everything() == []


def test_an_appeal_to_the_parent_center_replaces_the_ruling_before_money_moved(
    live_server, db, people, case, new_page, screenshot, tmp_path
):
    _client, agency = open_and_answer(live_server, new_page, people, case, tmp_path)
    take_and_rule(live_server, new_page, people.managers["qingdao"], "6060", "4040")

    agency.reload()
    agency.get_by_text("Appeal to the next center up").click()
    agency.get_by_label("Reason").fill("The lighting was never part of the specification.")
    agency.get_by_role("button", name="Appeal", exact=True).click()
    expect(agency.get_by_test_id("dispute-status")).to_have_text("appealed")
    db.session.rollback()
    assert ledger.balance(f"escrow:milestone:{case.milestone.id}") == 1_010_000

    appeal = new_page()
    appeal.on("dialog", lambda dialog: dialog.accept())
    log_in(appeal, live_server, people.managers["shandong"].email)
    appeal.goto(f"{live_server}/disputes")
    appeal.get_by_test_id("case").first.get_by_role("link").click()
    appeal.get_by_role("button", name="Take this case").click()
    form = appeal.get_by_test_id("ruling-form")
    form.get_by_label("Release to the payee (yuan)").fill("10100")
    form.get_by_label("Refund to the enterprise (yuan)").fill("0")
    form.get_by_label("Reasons for the ruling").fill("The lighting was not specified.")
    form.get_by_role("button", name="Decide").click()
    expect(appeal.get_by_test_id("dispute-status")).to_have_text("final")
    expect(appeal.get_by_test_id("ruling")).to_have_count(2)
    screenshot(appeal, "appeal-decided")

    db.session.rollback()
    contract_id = case.contract.id
    assert ledger.balance(f"escrow:milestone:{case.milestone.id}") == 0
    assert ledger.balance(f"payable:contract:{contract_id}:payee") == 850_000
    assert ledger.balance(f"payable:contract:{contract_id}:client") == 0
    assert reconcile.everything() == []
