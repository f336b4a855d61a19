"""Bank transfers the enterprise can follow: the payment deadline of each milestone, the
reminders before and when it passes (once each), "I have transferred" with the bank's receipt,
who may report and see the receipt, the manager's queue, confirmation (money moves once, as
before) and rejection, and the statuses both sides see."""

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from crowdsource.db import db, transaction
from crowdsource.notifications.models import Kind, Notification
from crowdsource.payments import funding as fundings
from crowdsource.payments import transfers
from crowdsource.payments.models import Funding, TransferReport, TransferReportStatus
from tests.payments.support import accept, balances, deliver, entry_count, fund, parse, reload

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%receipt\n"
AMOUNT = 300_000  # ¥3,000.00 a milestone, no fees


@pytest.fixture
def contract(award):
    return award([AMOUNT, AMOUNT])


@pytest.fixture
def started(contract, people):
    """The enterprise's bank-transfer funding of the first milestone, waiting for the money."""
    with transaction():
        return fundings.start_funding(people.owner, contract.milestones[0])


def report_data(amount="3000", date="2026-01-01", name="receipt.png", content=PNG):
    return {
        "amount": amount,
        "transferred_on": date,
        "receipt": (io.BytesIO(content), name),
    }


def report(client, funding, **fields):
    return client.post(
        f"/fundings/{funding.id}/report",
        data=report_data(**fields),
        content_type="multipart/form-data",
    )


def told(kind):
    """The users who got a notification of ``kind``, with how many each."""
    rows = db.session.execute(
        sa.select(Notification.user_id, sa.func.count())
        .where(Notification.kind == kind)
        .group_by(Notification.user_id)
    ).all()
    return dict(rows)


def statuses(response):
    return [
        node.attrs.get("data-status") for node in parse(response).find_all(testid="transfer-status")
    ]


# --- the deadline and the reminders -----------------------------------------------------------


def test_the_first_milestone_is_due_a_week_after_signing_the_next_a_week_after_the_previous_settled(
    contract, people
):
    first, second = contract.milestones
    assert transfers.deadline(first) == contract.signed_at + dt.timedelta(days=7)
    assert transfers.deadline(second) is None  # no deadline while the first is being worked on
    fund(first, people.owner, people.managers["qingdao"])
    deliver(people.solver, first)
    accept(people.owner, first)
    first = reload(first)
    assert transfers.deadline(reload(second)) == first.settled_at + dt.timedelta(days=7)


def test_the_enterprise_is_reminded_two_days_before_and_told_on_the_day_it_is_overdue_once_each(
    contract, people, clock
):
    signed = contract.signed_at

    def sweep(at):
        with transaction():
            return transfers.sweep_due(at)

    assert sweep(signed + dt.timedelta(days=4)) == {"funding_reminders": 0, "funding_overdue": 0}
    assert sweep(signed + dt.timedelta(days=5, hours=1)) == {
        "funding_reminders": 1,
        "funding_overdue": 0,
    }
    assert sweep(signed + dt.timedelta(days=5, hours=2))["funding_reminders"] == 0
    assert told(Kind.FUNDING_DUE_SOON) == {people.owner.id: 1}
    assert sweep(signed + dt.timedelta(days=7, hours=1)) == {
        "funding_reminders": 0,
        "funding_overdue": 1,
    }
    assert sweep(signed + dt.timedelta(days=8)) == {"funding_reminders": 0, "funding_overdue": 0}
    assert told(Kind.FUNDING_OVERDUE) == {people.owner.id: 1}
    assert told(Kind.FUNDING_DUE_SOON) == {people.owner.id: 1}
    assert people.solver.id not in told(Kind.FUNDING_OVERDUE)


def test_no_reminder_while_a_reported_transfer_waits_for_the_manager(
    contract, started, people, client, login, uploads
):
    login(people.owner)
    assert report(client, started).status_code == 302
    with transaction():
        due = transfers.sweep_due(contract.signed_at + dt.timedelta(days=8))
    assert due == {"funding_reminders": 0, "funding_overdue": 0}


# --- the report and its receipt -----------------------------------------------------------------


def test_the_enterprise_reports_its_transfer_with_the_receipt_and_both_sides_see_it_reported(
    contract, started, people, client, login, uploads
):
    login(people.owner)
    response = report(client, started, amount="3,000.00")
    assert response.status_code == 302
    (stored,) = db.session.scalars(sa.select(TransferReport)).all()
    assert stored.amount_fen == AMOUNT
    assert stored.transferred_on == dt.date(2026, 1, 1)
    assert (uploads / stored.receipt_stored_name).read_bytes() == PNG
    assert reload(contract.milestones[0]).status == "pending"  # a report moves no money
    assert entry_count() == 0

    page = client.get(f"/fundings/{started.id}")
    assert "receipt.png" in page.text
    assert statuses(page) == ["reported"]
    assert statuses(client.get(f"/contracts/{contract.id}"))[0] == "reported"
    login(people.solver)
    assert statuses(client.get(f"/contracts/{contract.id}"))[0] == "reported"
    receipt = client.get(f"/transfer-reports/{stored.id}/receipt")
    assert receipt.status_code == 200 and receipt.data == PNG


def test_a_new_report_replaces_the_waiting_one(started, people, client, login, uploads):
    login(people.owner)
    assert report(client, started, amount="2000").status_code == 302
    assert report(client, started, name="receipt.pdf", content=PDF).status_code == 302
    rows = db.session.scalars(sa.select(TransferReport).order_by(TransferReport.id)).all()
    assert [row.status for row in rows] == [
        TransferReportStatus.REPLACED,
        TransferReportStatus.REPORTED,
    ]
    assert rows[1].receipt_content_type == "application/pdf"


def test_the_solver_cannot_report_and_another_enterprise_cannot_see_the_receipt(
    started, people, client, login, uploads
):
    login(people.solver)
    assert report(client, started).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(TransferReport.id))) == 0

    login(people.owner)
    report(client, started)
    stored = db.session.scalars(sa.select(TransferReport)).one()
    url = f"/transfer-reports/{stored.id}/receipt"
    for stranger in (people.zibo_owner, people.outsider, people.managers["zibo"]):
        login(stranger)
        assert client.get(url).status_code == 404, stranger.name
        assert report(client, started).status_code == 404, stranger.name
    login(people.managers["qingdao"])
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("receipt.exe", b"MZ\x90\x00", "Attach the receipt as a PDF or an image"),
        ("receipt.docx", b"PK\x03\x04", "Attach the receipt as a PDF or an image"),
        ("receipt.png", b"GIF89a", "does not match its name"),
    ],
)
def test_a_refused_receipt_comes_back_with_the_message_at_the_field_and_the_input_kept(
    started, people, client, login, uploads, name, content, message
):
    login(people.owner)
    response = report(client, started, amount="2,999.50", name=name, content=content)
    assert response.status_code == 400
    tree = parse(response)
    (error,) = [node for node in tree.find_all("div") if node.attrs.get("data-field") == "receipt"]
    assert message in error.text
    (amount,) = [node for node in tree.find_all("input") if node.attrs.get("name") == "amount"]
    assert amount.attrs.get("value") == "2,999.50"
    assert db.session.scalar(sa.select(sa.func.count(TransferReport.id))) == 0
    assert list(uploads.glob("*")) == []


# --- the manager's queue ------------------------------------------------------------------------


def test_the_manager_sees_the_receipt_beside_the_amount_and_confirms_once(
    contract, started, people, client, login, uploads, award
):
    other = award([AMOUNT])
    with transaction():
        unreported = fundings.start_funding(people.owner, other.milestones[0])
    login(people.owner)
    report(client, started)

    login(people.managers["qingdao"])
    queue = client.get("/manage/payments")
    cards = parse(queue).find_all(testid="transfer")
    # reported first, though started earlier than the other one is irrelevant: it waits for us
    assert started.reference in cards[0].text
    assert unreported.reference in cards[1].text
    assert cards[0].find_all(testid="receipt")[0].find_all("img")
    assert "¥3,000.00" in cards[0].find_all(testid="expected-amount")[0].text
    assert statuses(queue)[:2] == ["reported", "due"]

    before = entry_count()
    confirm = {"amount": "3000", "bank_reference": "ICBC-20260102-7"}
    assert client.post(f"/fundings/{started.id}/confirm", data=confirm).status_code == 302
    assert entry_count() == before + 1
    assert balances()[f"escrow:milestone:{contract.milestones[0].id}"] == AMOUNT
    again = client.post(f"/fundings/{started.id}/confirm", data=confirm)
    assert again.status_code == 409
    assert entry_count() == before + 1
    stored = db.session.scalars(sa.select(TransferReport)).one()
    assert stored.status == TransferReportStatus.CONFIRMED
    login(people.owner)
    assert statuses(client.get(f"/contracts/{contract.id}"))[0] == "confirmed"


def test_the_manager_rejects_a_report_with_a_reason_the_enterprise_sees(
    contract, started, people, client, login, uploads
):
    login(people.owner)
    report(client, started)
    stored = db.session.scalars(sa.select(TransferReport)).one()

    login(people.managers["qingdao"])
    empty = client.post(f"/transfer-reports/{stored.id}/reject", data={"reason": ""})
    assert empty.status_code == 400
    reason = "No transfer with this reference has arrived."
    rejected = client.post(f"/transfer-reports/{stored.id}/reject", data={"reason": reason})
    assert rejected.status_code == 302
    assert reload(stored).status == TransferReportStatus.REJECTED
    assert entry_count() == 0
    assert told(Kind.TRANSFER_REJECTED) == {people.owner.id: 1}

    login(people.owner)
    page = client.get(f"/fundings/{started.id}")
    assert reason in parse(page).find_all(testid="rejection-reason")[0].text
    assert reason in client.get(f"/contracts/{contract.id}").text
    assert report(client, started).status_code == 302  # reported again, after a look at the bank


def test_a_manager_of_another_center_cannot_reject(started, people, client, login, uploads):
    login(people.owner)
    report(client, started)
    stored = db.session.scalars(sa.select(TransferReport)).one()
    login(people.managers["zibo"])
    response = client.post(f"/transfer-reports/{stored.id}/reject", data={"reason": "No."})
    assert response.status_code == 403
    assert reload(stored).status == TransferReportStatus.REPORTED


def test_an_overdue_payment_shows_on_both_sides_pages_and_in_the_managers_queue(
    contract, started, people, client, login, clock
):
    clock.move_to(contract.signed_at + dt.timedelta(days=7, minutes=1))
    for reader in (people.owner, people.solver):
        login(reader)
        assert statuses(client.get(f"/contracts/{contract.id}"))[0] == "overdue"
    login(people.managers["qingdao"])
    assert statuses(client.get("/manage/payments"))[0] == "overdue"
    assert db.session.get(Funding, started.id).status == "pending"
