"""Disputes (issue 6): the escrow freezes when a party disputes a milestone, a manager of the
task's center rules how it is split, the ruling becomes final after the appeal window (or when
both parties accept it), an appeal goes to the parent center, and the money moves once."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crowdsource.contracts.models import ContractFile, Milestone
from crowdsource.db import db, transaction, utcnow
from crowdsource.disputes import services
from crowdsource.disputes.models import Dispute, Ruling
from crowdsource.errors import Conflict, DomainError, NotAllowed
from crowdsource.notifications.models import Notification
from crowdsource.payments import ledger
from crowdsource.payments.models import JournalEntry
from crowdsource.sweep import sweep_due
from tests.helpers import DISPUTE_AMOUNT as AMOUNT
from tests.helpers import DISPUTE_DUE as DUE
from tests.helpers import evidence_file as pdf_file
from tests.payments.support import (
    assert_ledger_check_passes,
    balances,
    page,
    reload,
    stored_counts,
    texts,
)

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")

# A 60/40 ruling of the ¥10,100 escrow: ¥6,060 released (¥60 of it is the client-side fee's
# share, ¥6,000 the gross: 5 % commission ¥300, 10 % brokerage ¥600, ¥5,100 to the university);
# ¥4,040 back to the enterprise.
RELEASE, REFUND = 606_000, 404_000
CLIENT_FEE, COMMISSION, BROKERAGE, PAYEE = 6_000, 30_000, 60_000, 510_000


def status_of(obj):
    return str(reload(obj).status)


def ruling_entries():
    return db.session.scalar(
        sa.select(sa.func.count(JournalEntry.id)).where(JournalEntry.kind == "ruling")
    )


def notified(user, kind):
    return db.session.scalar(
        sa.select(sa.func.count(Notification.id)).filter_by(user_id=user.id, kind=kind)
    )


def open_case(people, case, now=None):
    with transaction():
        return services.open_dispute(
            people.owner, case.milestone.id, "The delivered model misses half the defects.", now
        )


def to_review(people, dispute):
    """The agency responds and the Qingdao manager takes the case."""
    with transaction():
        services.respond(people.broker, dispute.id, "It meets the agreed 95 % on the test set.")
    with transaction():
        services.take(people.managers["qingdao"], dispute.id)


def ruled(people, case, release=RELEASE, refund=REFUND, now=None):
    dispute = open_case(people, case, now)
    to_review(people, dispute)
    with transaction():
        services.rule(
            people.managers["qingdao"],
            dispute.id,
            release,
            refund,
            "The model meets the test set but not the line's lighting.",
            now,
        )
    return reload(dispute)


def ruling_balances(contract):
    return {
        "payee": ledger.balance(f"payable:contract:{contract.id}:payee"),
        "agency": ledger.balance(f"payable:contract:{contract.id}:agency"),
        "client": ledger.balance(f"payable:contract:{contract.id}:client"),
        "commission": ledger.balance("revenue:commission"),
        "client_fee": ledger.balance("revenue:client-fee"),
    }


# --- the case through the pages --------------------------------------------------------------


def test_a_dispute_ruled_60_40_becomes_final_after_the_appeal_window_and_splits_the_escrow(
    app, client, login, people, case, outbox
):
    contract, milestone = case.contract, case.milestone
    login(people.owner)
    assert "Open a dispute" in page(client.get(f"/contracts/{contract.id}"))
    response = client.post(
        f"/milestones/{milestone.id}/dispute",
        data={"reason": "The model misses half the defects.", "files": [pdf_file()]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    dispute = db.session.scalars(sa.select(Dispute)).one()
    assert response.headers["Location"] == f"/disputes/{dispute.id}"

    # The escrow is frozen at once: the enterprise can no longer accept or send back.
    assert status_of(milestone) == "disputed" and status_of(contract) == "in_dispute"
    assert client.post(f"/milestones/{milestone.id}/accept").status_code == 409
    assert ledger.balance(f"escrow:milestone:{milestone.id}") == DUE
    shown = client.get(f"/disputes/{dispute.id}")
    assert texts(shown, "disputed-amount") == ["¥10,100.00"]
    (evidence,) = texts(shown, "evidence-file")
    assert evidence == "evidence.pdf"
    record = db.session.scalars(sa.select(ContractFile)).one()
    assert client.get(f"/contract-files/{record.id}").data.startswith(b"%PDF-1.4")
    # The other side and the center's managers are told.
    assert notified(people.broker, "dispute_opened") == 1
    assert notified(people.managers["qingdao"], "dispute_opened") == 1

    login(people.broker)
    response = client.post(f"/disputes/{dispute.id}/respond", data={"body": "It meets 95 %."})
    assert response.status_code == 302 and status_of(dispute) == "responded"

    qingdao = people.managers["qingdao"]
    login(qingdao)
    (row,) = texts(client.get("/disputes"), "case")
    assert contract.number in row
    assert client.post(f"/disputes/{dispute.id}/take").status_code == 302
    assert status_of(dispute) == "under_review"
    response = client.post(
        f"/disputes/{dispute.id}/ask",
        data={"side": "solver", "body": "Send the test set's results per lighting condition."},
    )
    assert response.status_code == 302 and notified(people.broker, "dispute_info_requested") == 1
    response = client.post(
        f"/disputes/{dispute.id}/rule",
        data={"release": "6060", "refund": "4040", "reason": "Half the defects are found."},
    )
    assert response.status_code == 302 and status_of(dispute) == "ruled"
    shown = client.get(f"/disputes/{dispute.id}")
    assert texts(shown, "ruling-amounts") == [
        "¥6,060.00 released to the payee, ¥4,040.00 refunded to the enterprise."
    ]
    assert (
        "¥5,100.00 to the payee, ¥600.00 agency brokerage, ¥300.00 platform commission"
        in (texts(shown, "ruling-fees")[0])
    )
    # Nothing moves while the ruling can be appealed.
    assert ruling_entries() == 0 and ledger.balance(f"escrow:milestone:{milestone.id}") == DUE

    ruled_at = reload(dispute).appeal_due_at - dt.timedelta(days=7)
    assert sweep_due(ruled_at + dt.timedelta(days=6))["disputes_final"] == 0
    assert status_of(dispute) == "ruled"
    assert sweep_due(ruled_at + dt.timedelta(days=7, seconds=1))["disputes_final"] == 1
    assert sweep_due(ruled_at + dt.timedelta(days=8))["disputes_final"] == 0

    assert status_of(dispute) == "final" and reload(dispute).lost_by_side == "client"
    assert status_of(milestone) == "split" and status_of(contract) == "active"
    assert ruling_entries() == 1
    assert ruling_balances(contract) == {
        "payee": PAYEE,
        "agency": BROKERAGE,
        "client": REFUND,
        "commission": COMMISSION,
        "client_fee": CLIENT_FEE,
    }
    assert ledger.balance(f"escrow:milestone:{milestone.id}") == 0
    assert notified(people.owner, "dispute_final") == 1
    # The contract page shows the split; the other milestone can be worked on again.
    login(people.owner)
    (first_row, _second_row) = texts(client.get(f"/contracts/{contract.id}"), "contract-milestone")
    assert "¥6,060.00" in first_row and "¥4,040.00" in first_row and "split by ruling" in first_row
    history = texts(client.get(f"/contracts/{contract.id}"), "history")[0]
    for step in ("Dispute: → waiting for the response", "taken by a manager", "→ final"):
        assert step in history
    # Every step reached the parties' notifications, in words.
    notes = page(client.get("/notifications"))
    for text in ("a dispute was opened", "was answered", "is reviewing the dispute", "is final"):
        assert text in notes
    login(people.broker)
    notes = page(client.get("/notifications"))
    assert "asks you for more information" in notes and "was ruled: ¥6,060.00" in notes
    assert_ledger_check_passes(app)


def test_both_parties_accepting_the_ruling_make_it_final_at_once(app, client, login, people, case):
    dispute = ruled(people, case, release=DUE, refund=0)
    login(people.owner)
    assert client.post(f"/disputes/{dispute.id}/waive").status_code == 302
    assert status_of(dispute) == "ruled" and ruling_entries() == 0
    assert client.post(f"/disputes/{dispute.id}/waive").status_code == 409  # once per side
    login(people.broker)
    assert client.post(f"/disputes/{dispute.id}/waive").status_code == 302

    assert status_of(dispute) == "final" and status_of(case.milestone) == "released"
    assert ruling_entries() == 1
    assert ledger.balance(f"payable:contract:{case.contract.id}:payee") == 850_000
    assert ledger.balance(f"payable:contract:{case.contract.id}:client") == 0
    assert sweep_due(utcnow() + dt.timedelta(days=30))["disputes_final"] == 0
    assert ruling_entries() == 1
    assert_ledger_check_passes(app)


def test_an_appeal_goes_to_the_parent_center_which_replaces_the_ruling_before_money_moved(
    app, client, login, people, case
):
    dispute = ruled(people, case)
    login(people.broker)
    response = client.post(f"/disputes/{dispute.id}/appeal", data={"reason": "The test set."})
    assert response.status_code == 302
    dispute = reload(dispute)
    assert str(dispute.status) == "appealed" and dispute.appeal_center.code == "qingdao"
    assert notified(people.owner, "dispute_appealed") == 1
    # The appeal window passing changes nothing now; no money has moved.
    assert sweep_due(utcnow() + dt.timedelta(days=30))["disputes_final"] == 0
    assert ruling_entries() == 0

    # The manager who ruled first cannot hear the appeal; Zibo's does not even see it.
    login(people.managers["qingdao"])
    assert client.post(f"/disputes/{dispute.id}/take").status_code == 403
    assert texts(client.get("/disputes"), "case") == []
    login(people.managers["zibo"])
    assert client.post(f"/disputes/{dispute.id}/take").status_code == 404
    assert texts(client.get("/disputes"), "case") == []

    shandong = people.managers["shandong"]
    login(shandong)
    (row,) = texts(client.get("/disputes"), "case")
    assert "appealed" in row
    assert client.post(f"/disputes/{dispute.id}/take").status_code == 302
    response = client.post(
        f"/disputes/{dispute.id}/appeal-ruling",
        data={"release": "8080", "refund": "2020", "reason": "The lighting was specified."},
    )
    assert response.status_code == 302

    dispute = reload(dispute)
    assert str(dispute.status) == "final"
    assert [(str(r.stage), r.release_fen, r.upheld) for r in dispute.rulings] == [
        ("first", RELEASE, None),
        ("appeal", 808_000, False),
    ]
    assert ruling_entries() == 1
    # 808,000 released: 8,000 client fee share, 800,000 gross: 40,000 commission, 80,000
    # brokerage, 680,000 to the university; 202,000 back to the enterprise.
    assert ruling_balances(case.contract) == {
        "payee": 680_000,
        "agency": 80_000,
        "client": 202_000,
        "commission": 40_000,
        "client_fee": 8_000,
    }
    assert dispute.lost_by_side == "client"
    assert_ledger_check_passes(app)


def test_an_appeal_may_uphold_the_ruling(app, people, case):
    dispute = ruled(people, case)
    with transaction():
        services.appeal(people.owner, dispute.id, "Too generous.")
    shandong = people.managers["shandong"]
    with transaction():
        services.take(shandong, dispute.id)
    with transaction():
        services.rule_on_appeal(shandong, dispute.id, True, "The first ruling stands.")
    assert status_of(dispute) == "final"
    assert ruling_balances(case.contract)["client"] == REFUND
    assert_ledger_check_passes(app)


# --- who may do what -------------------------------------------------------------------------


def test_a_qingdao_manager_cannot_take_a_zibo_case(client, login, people, award, make_task):
    contract = award([AMOUNT], zibo=True)
    milestone = contract.milestones[0]
    from tests.payments.support import fund

    fund(milestone, people.zibo_owner, people.managers["zibo"])
    with transaction():
        dispute = services.open_dispute(people.zibo_owner, milestone.id, "Nothing delivered.")
    with transaction():
        services.respond(people.solver, dispute.id, "Delivered by e-mail.")

    login(people.managers["qingdao"])
    assert texts(client.get("/disputes"), "case") == []
    assert client.get(f"/disputes/{dispute.id}").status_code == 404
    assert client.post(f"/disputes/{dispute.id}/take").status_code == 404
    login(people.managers["zibo"])
    assert len(texts(client.get("/disputes"), "case")) == 1
    assert client.post(f"/disputes/{dispute.id}/take").status_code == 302


def test_a_manager_who_belongs_to_a_party_cannot_take_the_case(
    client, login, people, case, add_member
):
    add_member(people.managers["qingdao"], people.agency)
    dispute = open_case(people, case)
    with transaction():
        services.respond(people.broker, dispute.id, "It meets 95 %.")
    login(people.managers["qingdao"])
    assert texts(client.get("/disputes"), "case") == []
    assert client.post(f"/disputes/{dispute.id}/take").status_code == 403
    login(people.managers["shandong"])
    assert client.post(f"/disputes/{dispute.id}/take").status_code == 302


def test_parties_cannot_rule_and_outsiders_see_nothing_of_a_dispute(client, login, people, case):
    dispute = open_case(people, case)
    to_review(people, dispute)
    before = stored_counts()
    for party in (people.owner, people.broker):
        login(party)
        assert client.get(f"/disputes/{dispute.id}").status_code == 200
        response = client.post(
            f"/disputes/{dispute.id}/rule",
            data={"release": "10100", "refund": "0", "reason": "Mine."},
        )
        assert response.status_code == 403
        assert client.post(f"/disputes/{dispute.id}/take").status_code == 403
    login(people.outsider)
    for path in (f"/disputes/{dispute.id}", f"/contracts/{case.contract.id}"):
        assert client.get(path).status_code == 404
    for step in ("take", "waive", "post", "respond"):
        assert client.post(f"/disputes/{dispute.id}/{step}", data={"body": "x"}).status_code in (
            403,
            404,
        )
    assert client.get("/disputes").status_code == 403
    record = db.session.scalar(sa.select(ContractFile))
    assert record is None  # (no evidence here; file downloads are tested with one below)
    assert stored_counts() == before
    assert not db.session.scalars(sa.select(Ruling)).all()


def test_an_outsider_cannot_download_evidence(client, login, people, case):
    login(people.owner)
    client.post(
        f"/milestones/{case.milestone.id}/dispute",
        data={"reason": "Missing.", "files": [pdf_file()]},
        content_type="multipart/form-data",
    )
    record = db.session.scalars(sa.select(ContractFile)).one()
    login(people.outsider)
    assert client.get(f"/contract-files/{record.id}").status_code == 404
    login(people.managers["zibo"])
    assert client.get(f"/contract-files/{record.id}").status_code == 404
    login(people.managers["qingdao"])
    assert client.get(f"/contract-files/{record.id}").status_code == 200


# --- bad input: refused, nothing moved ---------------------------------------------------------


@pytest.mark.parametrize(
    "data, message",
    [
        ({"release": "6000", "refund": "4000", "reason": "x"}, "must add up to"),
        ({"release": "-100", "refund": "10200", "reason": "x"}, "more than zero"),
        ({"release": "6060", "refund": "4040", "reason": ""}, "required"),
        ({"release": "abc", "refund": "4040", "reason": "x"}, "Enter an amount in yuan"),
        ({"release": "", "refund": "4040", "reason": "x"}, "required"),
    ],
)
def test_a_bad_ruling_is_refused_with_a_message_and_nothing_is_stored(
    client, login, people, case, data, message
):
    dispute = open_case(people, case)
    to_review(people, dispute)
    before = stored_counts()
    login(people.managers["qingdao"])
    response = client.post(f"/disputes/{dispute.id}/rule", data=data)
    assert response.status_code == 400
    assert message in page(response)
    assert status_of(dispute) == "under_review"
    assert stored_counts() == before


def test_the_services_refuse_negative_or_unbalanced_amounts(people, case):
    dispute = open_case(people, case)
    to_review(people, dispute)
    manager = people.managers["qingdao"]
    for release, refund in ((-1, DUE + 1), (DUE, 1), (0, 0), (1.5, DUE - 1.5)):
        with pytest.raises(DomainError), transaction():
            services.rule(manager, dispute.id, release, refund, "x")
    assert status_of(dispute) == "under_review" and not reload(dispute).rulings


def test_an_appeal_after_the_window_is_refused_and_the_ruling_stands(client, login, people, case):
    dispute = ruled(people, case)
    late = reload(dispute).appeal_due_at + dt.timedelta(seconds=1)
    with pytest.raises(Conflict), transaction():
        services.appeal(people.broker, dispute.id, "Too late?", now=late)
    assert status_of(dispute) == "ruled" and ruling_entries() == 0
    sweep_due(late)
    login(people.broker)
    response = client.post(f"/disputes/{dispute.id}/appeal", data={"reason": "Too late?"})
    assert response.status_code == 409
    assert status_of(dispute) == "final" and ruling_entries() == 1


def test_a_dispute_needs_a_reason_and_an_escrowed_milestone(client, login, people, case):
    before = stored_counts()
    login(people.owner)
    response = client.post(f"/milestones/{case.milestone.id}/dispute", data={"reason": " "})
    assert response.status_code == 400 and "Explain what the dispute is about." in page(response)
    response = client.post(
        f"/milestones/{case.milestone.id}/dispute",
        data={"reason": "See the file.", "files": [(pdf_file()[0], "evidence.exe")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "evidence.exe" in page(response)
    assert stored_counts() == before and status_of(case.milestone) == "submitted"
    # The second milestone is not funded: nothing to dispute.
    with pytest.raises(Conflict), transaction():
        services.open_dispute(people.owner, case.second.id, "Not started.")
    login(people.outsider)
    response = client.post(f"/milestones/{case.milestone.id}/dispute", data={"reason": "Mine"})
    assert response.status_code == 404
    assert stored_counts() == before


def test_only_the_respondent_responds_and_managers_wait_for_the_response(people, case):
    dispute = open_case(people, case)
    with pytest.raises(NotAllowed), transaction():
        services.respond(people.owner, dispute.id, "I answer myself.")
    with pytest.raises(Conflict), transaction():
        services.take(people.managers["qingdao"], dispute.id)
    assert status_of(dispute) == "open"


# --- deadlines and reminders -----------------------------------------------------------------


def test_an_unanswered_dispute_goes_to_review_after_five_days_with_a_reminder_before(people, case):
    opened = utcnow()
    dispute = open_case(people, case, now=opened)
    assert sweep_due(opened + dt.timedelta(days=3))["disputes_reminders"] == 0
    assert sweep_due(opened + dt.timedelta(days=4, hours=1))["disputes_reminders"] == 1
    assert sweep_due(opened + dt.timedelta(days=4, hours=2))["disputes_reminders"] == 0
    assert notified(people.broker, "dispute_deadline") == 1
    assert notified(people.owner, "dispute_deadline") == 0
    assert status_of(dispute) == "open"

    done = sweep_due(opened + dt.timedelta(days=5, seconds=1))
    assert done["disputes_to_review"] == 1 and status_of(dispute) == "under_review"
    assert notified(people.managers["qingdao"], "dispute_to_review") == 1
    # The manager can take it without a response; the queue flags nothing overdue yet.
    cases = services.queue(people.managers["qingdao"], opened + dt.timedelta(days=6))
    assert [(c.id, overdue) for c, overdue in cases] == [(dispute.id, False)]
    cases = services.queue(people.managers["qingdao"], opened + dt.timedelta(days=16))
    assert [(c.id, overdue) for c, overdue in cases] == [(dispute.id, True)]
    with transaction():
        services.take(people.managers["qingdao"], dispute.id)
    assert reload(dispute).manager_id == people.managers["qingdao"].id


def test_the_queue_is_ordered_by_age_and_highlights_overdue_cases(
    client, login, people, award, case
):
    old = open_case(people, case, now=utcnow() - dt.timedelta(days=8))
    other = award([AMOUNT])
    from tests.payments.support import deliver, fund

    fund(other.milestones[0], people.owner, people.managers["qingdao"])
    deliver(people.solver, other.milestones[0])
    with transaction():
        recent = services.open_dispute(people.solver, other.milestones[0].id, "Not accepted.")
    login(people.managers["qingdao"])
    shown = client.get("/disputes")
    rows = texts(shown, "case")
    assert [case.contract.number in rows[0], other.number in rows[1]] == [True, True]
    assert "overdue" in rows[0] and "overdue" not in rows[1]
    assert recent.id != old.id


def test_a_review_period_reminder_is_sent_once_before_the_automatic_release(people, case):
    delivered = reload(case.milestone).review_due_at - dt.timedelta(days=14)
    assert sweep_due(delivered + dt.timedelta(days=11))["review_reminders"] == 0
    assert sweep_due(delivered + dt.timedelta(days=12, hours=1))["review_reminders"] == 1
    assert sweep_due(delivered + dt.timedelta(days=13))["review_reminders"] == 0
    assert notified(people.owner, "review_ending") == 1


def test_a_disputed_milestone_is_not_released_automatically(app, people, case):
    open_case(people, case)
    sweep_due(utcnow() + dt.timedelta(days=30))
    assert status_of(case.milestone) == "disputed"
    assert ledger.balance(f"escrow:milestone:{case.milestone.id}") == DUE
    assert balances()[f"escrow:milestone:{case.milestone.id}"] == DUE
    assert_ledger_check_passes(app)


def test_a_contract_whose_last_milestone_is_ruled_completes(app, people, award):
    from tests.payments.support import deliver, fund

    contract = award([AMOUNT])
    (milestone,) = contract.milestones
    fund(milestone, people.owner, people.managers["qingdao"])
    deliver(people.solver, milestone)
    with transaction():
        dispute = services.open_dispute(people.solver, milestone.id, "Not accepted in time.")
    with transaction():
        services.respond(people.owner, dispute.id, "It does not work.")
    manager = people.managers["qingdao"]
    with transaction():
        services.take(manager, dispute.id)
    with transaction():
        services.rule(manager, dispute.id, 0, milestone.due_fen, "It does not work.")
    for party in (people.owner, people.solver):
        with transaction():
            services.waive_appeal(party, dispute.id)
    assert status_of(milestone) == "refunded" and status_of(contract) == "completed"
    assert reload(dispute).lost_by_side == "solver"
    assert str(db.session.get(Milestone, milestone.id).status) == "refunded"
    assert_ledger_check_passes(app)


def test_both_parties_are_reminded_once_a_day_before_the_appeal_window_ends(people, case):
    dispute = ruled(people, case)
    ends = reload(dispute).appeal_due_at
    assert sweep_due(ends - dt.timedelta(days=2))["disputes_reminders"] == 0
    assert sweep_due(ends - dt.timedelta(hours=23))["disputes_reminders"] == 1
    assert sweep_due(ends - dt.timedelta(hours=22))["disputes_reminders"] == 0
    assert notified(people.owner, "dispute_deadline") == 1
    assert notified(people.broker, "dispute_deadline") == 1
    assert status_of(dispute) == "ruled" and ruling_entries() == 0
