"""Worked stories of a contract's money, told through the pages and services, each ending with
``flask ledger check`` passing and the exact fen in every account the story touched; and the
check failing when the ledger is changed behind the code's back."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crowdsource.contracts.models import ContractStatus, MilestoneStatus
from crowdsource.db import db, transaction, utcnow
from crowdsource.payments import escrow, ledger, policy
from crowdsource.payments.models import (
    Funding,
    FundingStatus,
    JournalEntry,
    Payout,
    PayoutStatus,
)
from crowdsource.sweep import sweep_due
from crowdsource.tasks.models import TaskStatus
from tests.payments.support import (
    BANK,
    accept,
    assert_ledger_check_passes,
    balances,
    deliver,
    entry_count,
    fund,
    ledger_check,
    page,
    reload,
)


def payable(contract, role):
    return f"payable:contract:{contract.id}:{role}"


def escrow_of(milestone):
    return f"escrow:milestone:{milestone.id}"


def yuan_text(fen):
    return f"{fen // 100}.{fen % 100:02d}"


def fund_through_pages(client, login, owner, manager, milestone, reference):
    """The enterprise starts the funding on the contract page, the manager records the bank
    transfer of exactly the amount shown; returns the funding."""
    login(owner)
    response = client.post(f"/milestones/{milestone.id}/fund")
    assert response.status_code == 302
    funding = db.session.scalars(
        sa.select(Funding).filter_by(milestone_id=milestone.id, status=FundingStatus.PENDING)
    ).one()
    login(manager)
    response = client.post(
        f"/fundings/{funding.id}/confirm",
        data={"amount": yuan_text(funding.amount_fen), "bank_reference": reference},
    )
    assert response.status_code == 302
    return funding


def request_payout_through_page(client, login, user, contract, role):
    login(user)
    response = client.post(f"/contracts/{contract.id}/payouts/{role}", data=BANK)
    assert response.status_code == 302
    return db.session.scalars(
        sa.select(Payout).filter_by(contract_id=contract.id, status=PayoutStatus.REQUESTED)
    ).one()


def send_payout_through_page(client, login, manager, payout, reference):
    login(manager)
    response = client.post(f"/payouts/{payout.id}/send", data={"bank_reference": reference})
    assert response.status_code == 302


# --- (a) release with every fee ----------------------------------------------------------


def test_released_milestones_are_split_half_up_with_the_remainder_to_the_payee(
    app, client, login, people, award
):
    # 5 % commission, 1 % client fee, 2 % center share, and the agency's 15 % brokerage.
    with transaction():
        policy.set_policy(people.admin, None, None, 500, 100, 200, 3000)
    contract = award([33_333, 33_330], brokerage_bps=1500)
    assert (contract.commission_bps, contract.client_fee_bps, contract.center_share_bps) == (
        500,
        100,
        200,
    )
    first, second = contract.milestones
    manager = people.managers["qingdao"]
    center = f"revenue:center:{people.centers['laoshan'].id}"

    # 33,333 fen: fee 1 % = 333.33 → 333, so the enterprise pays 33,666.
    funding = fund_through_pages(client, login, people.owner, manager, first, "ICBC-0001")
    assert funding.amount_fen == 33_666
    assert balances() == {escrow_of(first): 33_666, "clearing:bank": -33_666}
    login(people.broker)
    response = client.post(f"/milestones/{first.id}/deliver", data={"note": "Prototype"})
    assert response.status_code == 302
    login(people.owner)
    assert client.post(f"/milestones/{first.id}/accept").status_code == 302

    # commission 1,666.65 → 1,667; brokerage 4,999.95 → 5,000; center 666.66 → 667;
    # the payee gets the remainder 33,333 − 1,667 − 5,000 − 667 = 25,999.
    assert balances() == {
        payable(contract, "payee"): 25_999,
        payable(contract, "agency"): 5_000,
        "revenue:commission": 1_667,
        "revenue:client-fee": 333,
        center: 667,
        "clearing:bank": -33_666,
    }
    assert ledger.balance(escrow_of(first)) == 0 and ledger.find_account(escrow_of(first))

    # 33,330 fen: exact halves round up — commission 1,666.5 → 1,667, brokerage 4,999.5 →
    # 5,000; center 666.6 → 667; fee 333.3 → 333; payee 33,330 − 7,334 = 25,996.
    funding = fund_through_pages(client, login, people.owner, manager, second, "ICBC-0002")
    assert funding.amount_fen == 33_663
    login(people.broker)
    client.post(f"/milestones/{second.id}/deliver", data={"note": "Final report"})
    login(people.owner)
    assert client.post(f"/milestones/{second.id}/accept").status_code == 302
    assert balances() == {
        payable(contract, "payee"): 25_999 + 25_996,
        payable(contract, "agency"): 10_000,
        "revenue:commission": 3_334,
        "revenue:client-fee": 666,
        center: 1_334,
        "clearing:bank": -67_329,
    }
    contract = reload(contract)
    assert contract.status == ContractStatus.COMPLETED
    assert contract.task.status == TaskStatus.COMPLETED

    # The university and the agency ask for their money; the manager sends both transfers.
    payee_payout = request_payout_through_page(client, login, people.professor, contract, "payee")
    assert payee_payout.amount_fen == 51_995
    send_payout_through_page(client, login, manager, payee_payout, "OUT-0001")
    agency_payout = request_payout_through_page(client, login, people.broker, contract, "agency")
    assert agency_payout.amount_fen == 10_000
    send_payout_through_page(client, login, manager, agency_payout, "OUT-0002")

    assert balances() == {
        "revenue:commission": 3_334,
        "revenue:client-fee": 666,
        center: 1_334,
        "clearing:bank": -67_329 + 51_995 + 10_000,
    }
    for code in (payable(contract, "payee"), payable(contract, "agency")):
        assert ledger.balance(code) == 0
    assert_ledger_check_passes(app)


# --- (b) cancellation by mutual agreement ------------------------------------------------


def test_mutual_cancellation_refunds_escrow_to_the_enterprise_and_keeps_released_money_paid(
    app, client, login, people, award
):
    contract = award([200_000, 300_000, 500_000])  # the built-in 5 % commission
    first, second, third = contract.milestones
    manager = people.managers["qingdao"]
    fund(first, people.owner, manager)
    deliver(people.solver, first)
    accept(people.owner, first)
    fund(second, people.owner, manager)
    login(people.owner)
    client.post(f"/milestones/{third.id}/fund")  # started, never paid
    third_funding = db.session.scalars(sa.select(Funding).filter_by(milestone_id=third.id)).one()

    login(people.solver)
    response = client.post(
        f"/contracts/{contract.id}/cancellation/propose", data={"reason": "The line was sold."}
    )
    assert response.status_code == 302
    assert reload(second).status == MilestoneStatus.FUNDED  # nothing moves before consent
    login(people.owner)
    shown = page(client.get(f"/contracts/{contract.id}"))
    assert "The line was sold." in shown and "Agree to cancel" in shown
    response = client.post(f"/contracts/{contract.id}/cancellation/confirm")
    assert response.status_code == 302

    contract = reload(contract)
    assert contract.status == ContractStatus.CANCELLED
    assert contract.task.status == TaskStatus.CANCELLED
    assert [m.status for m in contract.milestones] == [
        MilestoneStatus.RELEASED,
        MilestoneStatus.REFUNDED,
        MilestoneStatus.CANCELLED,
    ]
    assert reload(third_funding).status == FundingStatus.CANCELLED
    assert balances() == {
        payable(contract, "payee"): 190_000,
        "revenue:commission": 10_000,
        payable(contract, "client"): 300_000,
        "clearing:bank": -500_000,
    }
    assert ledger.balance(escrow_of(first)) == ledger.balance(escrow_of(second)) == 0

    # The cancelled transfer can no longer be recorded, and the refund goes back to the bank.
    login(manager)
    late = client.post(
        f"/fundings/{third_funding.id}/confirm",
        data={"amount": "5000.00", "bank_reference": "ICBC-LATE"},
    )
    assert late.status_code == 409 and "cancelled" in page(late)
    refund = request_payout_through_page(client, login, people.owner, contract, "client")
    assert refund.amount_fen == 300_000
    send_payout_through_page(client, login, manager, refund, "REFUND-0001")
    assert balances() == {
        payable(contract, "payee"): 190_000,
        "revenue:commission": 10_000,
        "clearing:bank": -200_000,
    }
    assert ledger.balance(payable(contract, "client")) == 0
    assert_ledger_check_passes(app)


def test_the_side_that_proposed_cannot_confirm_its_own_cancellation(
    app, client, login, people, award
):
    contract = award([200_000])
    fund(contract.milestones[0], people.owner, people.managers["qingdao"])
    login(people.owner)
    client.post(f"/contracts/{contract.id}/cancellation/propose", data={"reason": "Budget cut."})
    before = entry_count()
    assert client.post(f"/contracts/{contract.id}/cancellation/confirm").status_code == 403
    assert reload(contract).status == ContractStatus.ACTIVE
    assert entry_count() == before
    assert ledger.balance(escrow_of(contract.milestones[0])) == 200_000
    assert_ledger_check_passes(app)


# --- (c) automatic release after the review period ---------------------------------------


def test_a_delivery_is_released_automatically_after_the_review_period_not_before(
    app, client, login, people, award
):
    assert app.config["REVIEW_PERIOD_DAYS"] == 14
    contract = award([400_000])
    [milestone] = contract.milestones
    fund(milestone, people.owner, people.managers["qingdao"])
    delivered_at = utcnow()
    deliver(people.solver, milestone, now=delivered_at)
    held = {escrow_of(milestone): 400_000, "clearing:bank": -400_000}

    for days in (0, 13, 14 - 1 / 24):
        assert sweep_due(delivered_at + dt.timedelta(days=days))["milestones_released"] == 0
        assert balances() == held
    assert reload(milestone).status == MilestoneStatus.SUBMITTED

    assert sweep_due(delivered_at + dt.timedelta(days=15))["milestones_released"] == 1
    assert reload(milestone).status == MilestoneStatus.RELEASED
    assert reload(contract).status == ContractStatus.COMPLETED
    expected = {
        payable(contract, "payee"): 380_000,
        "revenue:commission": 20_000,
        "clearing:bank": -400_000,
    }
    assert balances() == expected
    # Sweeping again (another process, a later run) moves nothing.
    assert sweep_due(delivered_at + dt.timedelta(days=30))["milestones_released"] == 0
    assert balances() == expected
    assert_ledger_check_passes(app)


def test_requesting_changes_sends_the_delivery_back_and_stops_the_clock(
    app, client, login, people, award
):
    contract = award([400_000])
    [milestone] = contract.milestones
    fund(milestone, people.owner, people.managers["qingdao"])
    delivered_at = utcnow()
    deliver(people.solver, milestone, now=delivered_at)
    login(people.owner)
    response = client.post(
        f"/milestones/{milestone.id}/changes", data={"reason": "The report lacks the test data."}
    )
    assert response.status_code == 302
    milestone = reload(milestone)
    assert milestone.status == MilestoneStatus.FUNDED and milestone.review_due_at is None
    login(people.solver)
    assert "The report lacks the test data." in page(client.get(f"/contracts/{contract.id}"))

    held = {escrow_of(milestone): 400_000, "clearing:bank": -400_000}
    assert sweep_due(delivered_at + dt.timedelta(days=15))["milestones_released"] == 0
    assert balances() == held and reload(milestone).status == MilestoneStatus.FUNDED

    # Delivered again three days later: the review period starts over from then.
    redelivered_at = delivered_at + dt.timedelta(days=3)
    deliver(people.solver, milestone, "Report with the test data.", now=redelivered_at)
    assert sweep_due(delivered_at + dt.timedelta(days=15))["milestones_released"] == 0
    assert balances() == held
    assert sweep_due(redelivered_at + dt.timedelta(days=15))["milestones_released"] == 1
    assert balances() == {
        payable(contract, "payee"): 380_000,
        "revenue:commission": 20_000,
        "clearing:bank": -400_000,
    }
    assert_ledger_check_passes(app)


# --- the check finds a ledger changed behind the code's back ------------------------------


@pytest.fixture
def released(people, award):
    """A contract whose first milestone is released and second funded."""
    contract = award([500_000, 500_000])
    first, second = contract.milestones
    manager = people.managers["qingdao"]
    fund(first, people.owner, manager)
    deliver(people.solver, first)
    accept(people.owner, first)
    fund(second, people.owner, manager)
    return contract


def test_ledger_check_reports_a_cached_balance_changed_behind_the_codes_back(app, released):
    assert_ledger_check_passes(app)
    db.session.execute(
        sa.text("UPDATE ledger_accounts SET balance = balance + 1 WHERE code = :code"),
        {"code": "revenue:commission"},
    )
    code, output = ledger_check(app)
    assert code != 0
    assert (
        "VIOLATION: account revenue:commission: cached balance 25001 but postings sum to 25000"
        in output
    )
    assert "passed" not in output


@pytest.mark.committing  # PostgreSQL checks the balance at the real commit
def test_ledger_check_reports_an_unbalanced_entry_slipped_in_with_raw_sql(app, released):
    release = db.session.scalars(sa.select(JournalEntry).filter_by(kind="release")).one()
    commission = ledger.find_account("revenue:commission")
    insert = sa.text(
        "INSERT INTO postings (entry_id, account_id, amount, currency) "
        "VALUES (:entry, :account, 100, 'CNY')"
    )
    if db.engine.dialect.name == "postgresql":
        # PostgreSQL refuses it at commit (see test_ledger_database.py); nothing is stored.
        with pytest.raises(sa.exc.IntegrityError, match="does not balance"), transaction():
            db.session.execute(insert, {"entry": release.id, "account": commission.id})
        assert ledger.balance("revenue:commission") == 25_000
        assert_ledger_check_passes(app)
        return
    # SQLite has no deferred triggers: the posting gets in and its amount is applied; so does
    # an entry without postings.
    db.session.execute(insert, {"entry": release.id, "account": commission.id})
    lone = db.session.execute(
        sa.text(
            "INSERT INTO journal_entries (idempotency_key, kind, description, created_at) "
            "VALUES ('raw:lone', 'fund', '', :now) RETURNING id"
        ),
        {"now": utcnow()},
    ).scalar_one()
    db.session.commit()
    assert ledger.balance("revenue:commission") == 25_100
    code, output = ledger_check(app)
    assert code != 0
    assert f"VIOLATION: entry {release.id} does not balance in CNY: off by 100" in output
    assert f"VIOLATION: entry {lone} has 0 postings" in output


def test_ledger_check_reports_a_milestone_moved_without_its_money(app, released):
    second = released.milestones[1]
    db.session.execute(
        sa.text("UPDATE milestones SET status = 'released' WHERE id = :id"), {"id": second.id}
    )
    code, output = ledger_check(app)
    assert code != 0
    assert f"milestone {second.id} is released with 500000 in escrow, expected 0" in output
    assert f"milestone {second.id} is released with entries ['fund']" in output
    assert escrow.check()  # the same findings, from the service the command calls
