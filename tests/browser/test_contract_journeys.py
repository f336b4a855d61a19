"""Contracts in a real browser: the solver delivers a milestone with files, the enterprise
accepts it; or sends it back with a reason, the two sides write to each other, the solver
delivers again and the enterprise accepts. The ledger check passes after each journey."""

import pathlib

import sqlalchemy as sa
from playwright.sync_api import expect

from crowdsource.contracts.models import ContractMessage, Delivery, MilestoneStatus
from tests.payments.support import assert_ledger_check_passes, fund, reload
from tests.plugin import log_in

REPORT = b"%PDF-1.4 test report of the prototype"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(name, content, mime):
    return {"name": name, "mimeType": mime, "buffer": content}


def open_contract(page, live_server, contract):
    page.goto(f"{live_server}/contracts/{contract.id}")
    return page.get_by_test_id("contract-milestone").first


def deliver(page, row, note, *files):
    row.get_by_text("Deliver", exact=True).click()
    row.get_by_label("What you deliver").fill(note)
    row.get_by_label("Files").set_input_files(list(files))
    row.get_by_role("button", name="Submit delivery").click()
    expect(page.get_by_text("Delivered.")).to_be_visible()


def write(page, text, *files):
    form = page.get_by_test_id("message-form")
    form.get_by_label("Message").fill(text)
    if files:
        form.get_by_label("Files").set_input_files(list(files))
    form.get_by_role("button", name="Send message").click()
    expect(page.get_by_text("Your message has been sent.")).to_be_visible()


def test_the_solver_delivers_with_a_file_and_the_enterprise_accepts(
    app, live_server, db, people, award, new_page, screenshot, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    contract = award()
    first = contract.milestones[0]
    fund(first, people.owner, people.managers["qingdao"])

    worker = new_page()
    log_in(worker, live_server, people.solver.email)
    row = open_contract(worker, live_server, contract)
    deliver(
        worker,
        row,
        "Prototype built; the test report is attached.",
        upload("test-report.pdf", REPORT, "application/pdf"),
    )
    delivery = worker.get_by_test_id("delivery")
    expect(delivery).to_contain_text("Prototype built; the test report is attached.")
    expect(delivery.get_by_test_id("delivery-timing")).to_have_text("on time")
    expect(delivery.get_by_test_id("delivery-file")).to_have_text("test-report.pdf")
    screenshot(worker, "delivered")

    client = new_page()
    client.on("dialog", lambda dialog: dialog.accept())
    log_in(client, live_server, people.owner.email)
    row = open_contract(client, live_server, contract)
    expect(row.get_by_test_id("milestone-status")).to_have_text("delivered, awaiting acceptance")
    with client.expect_download() as download:
        client.get_by_test_id("delivery-file").click()
    assert download.value.suggested_filename == "test-report.pdf"
    assert pathlib.Path(download.value.path()).read_bytes() == REPORT
    row.get_by_role("button", name="Accept and release").click()
    expect(client.get_by_text("Accepted.")).to_be_visible()
    expect(row.get_by_test_id("milestone-status")).to_have_text("released")
    screenshot(client, "accepted")

    db.session.rollback()  # read what the server has committed
    assert reload(first).status == MilestoneStatus.RELEASED
    assert [d.on_time for d in db.session.scalars(sa.select(Delivery))] == [True]
    assert_ledger_check_passes(app)


def test_changes_requested_messages_exchanged_then_accepted(
    app, live_server, db, people, award, new_page, screenshot, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    contract = award()
    first = contract.milestones[0]
    fund(first, people.owner, people.managers["qingdao"])

    worker = new_page()
    log_in(worker, live_server, people.solver.email)
    row = open_contract(worker, live_server, contract)
    deliver(
        worker,
        row,
        "First version of the inspection prototype.",
        upload("v1-report.pdf", REPORT, "application/pdf"),
    )

    client = new_page()
    client.on("dialog", lambda dialog: dialog.accept())
    log_in(client, live_server, people.owner.email)
    row = open_contract(client, live_server, contract)
    row.get_by_text("Request changes").click()
    row.get_by_label("Reason").fill("The false-reject rate on line 2 is too high.")
    row.get_by_role("button", name="Send back").click()
    expect(client.get_by_text("Changes requested")).to_have_count(2)  # flash and the row
    expect(row.get_by_test_id("milestone-status")).to_have_text("funded")
    expect(client.get_by_test_id("history")).to_contain_text("false-reject rate")
    write(
        client,
        "Our line data of last week is attached.",
        upload("line-2.png", PHOTO, "image/png"),
    )
    expect(client.get_by_test_id("message")).to_contain_text("Our line data of last week")

    worker.goto(f"{live_server}/contracts/{contract.id}")
    expect(worker.get_by_test_id("message")).to_contain_text("Our line data of last week")
    expect(worker.get_by_test_id("message-file")).to_have_text("line-2.png")
    write(worker, "Thanks, we retrained the model with it.")
    expect(worker.get_by_test_id("message")).to_have_count(2)
    row = worker.get_by_test_id("contract-milestone").first
    deliver(
        worker,
        row,
        "Second version: false rejects down to 0.3 %.",
        upload("v2-report.pdf", REPORT, "application/pdf"),
        upload("v2-chart.png", PHOTO, "image/png"),
    )
    expect(worker.get_by_test_id("delivery")).to_have_count(2)
    screenshot(worker, "delivered-again")

    row = open_contract(client, live_server, contract)
    deliveries = client.get_by_test_id("delivery")
    expect(deliveries.nth(0)).to_contain_text("v1-report.pdf")
    expect(deliveries.nth(1).get_by_test_id("delivery-file")).to_have_text(
        ["v2-report.pdf", "v2-chart.png"]
    )
    expect(client.get_by_test_id("message").nth(1)).to_contain_text("we retrained the model")
    row.get_by_role("button", name="Accept and release").click()
    expect(client.get_by_text("Accepted.")).to_be_visible()
    expect(row.get_by_test_id("milestone-status")).to_have_text("released")
    screenshot(client, "accepted-after-changes")

    db.session.rollback()
    assert reload(first).status == MilestoneStatus.RELEASED
    assert len(db.session.scalars(sa.select(Delivery)).all()) == 2
    assert len(db.session.scalars(sa.select(ContractMessage)).all()) == 2
    assert_ledger_check_passes(app)
