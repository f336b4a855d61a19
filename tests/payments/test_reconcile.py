"""``flask ledger check`` reconciles every entry with its business event: worked stories (bank
transfer, release with every fee, payouts, a dispute ruled on appeal, a mutual cancellation, a
card payment, a Stripe payout and a card refund) end with the check clean; entries written by
hand — balanced, with plausible keys, leaving escrow alone — are reported by id and key, and so
are events whose entry is missing."""

import pytest
import sqlalchemy as sa

from crowdsource.contracts import workflow
from crowdsource.db import db, transaction
from crowdsource.disputes import services as disputes
from crowdsource.payments import escrow, ledger, payouts, policy, reconcile
from crowdsource.payments import funding as fundings
from crowdsource.payments.models import AccountKind, CardRefund, JournalEntry, StripeAccount
from tests.payments import fake_stripe as stripe
from tests.payments.support import (
    BANK,
    accept,
    assert_ledger_check_passes,
    balances,
    deliver,
    fund,
    ledger_check,
    page,
    reload,
)

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")

KINDS = {
    "clearing": AccountKind.CLEARING,
    "escrow": AccountKind.ESCROW,
    "payable": AccountKind.PAYABLE,
    "revenue": AccountKind.REVENUE,
}


@pytest.fixture
def rates(people):
    """5 % commission, a 1 % client-side fee and a 2 % center share."""
    with transaction():
        policy.set_policy(people.admin, None, None, 500, 100, 200, 3000)


def kinds():
    return sorted(db.session.scalars(sa.select(JournalEntry.kind)).all())


def by_hand(key, kind, legs, contract=None, milestone=None):
    """A balanced entry posted through ``ledger.post`` by someone, not by a service: ``legs``
    are (account code, amount)."""
    with transaction():
        entry = ledger.post(
            key,
            kind,
            [
                ledger.Leg(ledger.account(code, KINDS[code.split(":")[0]]), fen)
                for code, fen in legs
            ],
            description="fixed by hand",
            contract_id=getattr(contract, "id", None),
            milestone_id=getattr(milestone, "id", None),
        )
    return entry.id


def assert_reported(app, *sentences):
    """``flask ledger check`` exits 1 and says each sentence."""
    code, output = ledger_check(app)
    assert code == 1, output
    assert "passed" not in output
    for sentence in sentences:
        assert f"VIOLATION: {sentence}" in output, output
    return output


def request_payout(user, contract, role):
    with transaction():
        return payouts.request_payout(user, contract, role, **BANK)


def send(manager, payout, reference="OUT-0001"):
    with transaction():
        payouts.send_payout(manager, reload(payout), reference)


# --- worked stories end clean ------------------------------------------------------------------


def test_a_contracts_whole_life_by_bank_transfer_reconciles_entry_by_entry(
    app, people, award, rates
):
    contract = award([400_000, 300_000, 200_000], brokerage_bps=1000)
    first, second, third = contract.milestones
    qingdao, shandong = people.managers["qingdao"], people.managers["shandong"]

    # Released with every fee; the university and the agency are paid out.
    fund(first, people.owner, qingdao, "ICBC-0001")
    deliver(people.broker, first)
    accept(people.owner, first)
    send(qingdao, request_payout(people.professor, contract, "payee"), "OUT-0001")
    send(qingdao, request_payout(people.broker, contract, "agency"), "OUT-0002")

    # Disputed, ruled 50/50, appealed and ruled 2/3 to the payee: the appeal's split moves.
    fund(second, people.owner, qingdao, "ICBC-0002")
    deliver(people.broker, second)
    with transaction():
        dispute = disputes.open_dispute(people.owner, second.id, "Half of it is missing.")
    with transaction():
        disputes.respond(people.broker, dispute.id, "It is all there.")
    with transaction():
        disputes.take(qingdao, dispute.id)
    with transaction():
        disputes.rule(qingdao, dispute.id, 151_500, 151_500, "Half is there.")
    with transaction():
        disputes.appeal(people.broker, dispute.id, "Two thirds are there.")
    with transaction():
        disputes.take(shandong, dispute.id)
    with transaction():
        disputes.rule_on_appeal(shandong, dispute.id, False, "Two thirds.", 202_000, 101_000)

    # Funded, then cancelled by both sides: back to the enterprise, which is paid out.
    fund(third, people.owner, qingdao, "ICBC-0003")
    with transaction():
        workflow.request_cancellation(people.owner, reload(contract), "Plans changed")
    with transaction():
        workflow.confirm_cancellation(people.broker, reload(contract))
    send(qingdao, request_payout(people.owner, contract, "client"), "OUT-0003")

    assert [str(m.status) for m in reload(contract).milestones] == ["released", "split", "refunded"]
    assert kinds() == ["fund"] * 3 + ["payout"] * 3 + ["refund", "release", "ruling"]
    assert reconcile.check() == []
    assert_ledger_check_passes(app)


def test_card_payments_a_stripe_payout_and_a_card_refund_reconcile(
    app, client, login, people, award, rates, stripe_fake
):
    fake = stripe_fake
    contract = award([500_000, 300_000])
    first, second = contract.milestones

    def pay_by_card(milestone):
        login(people.owner)
        response = client.post(f"/milestones/{milestone.id}/fund/card")
        assert response.status_code == 302, page(response)
        session, _, charge = fake.pay(response.headers["Location"].rsplit("/", 1)[1])
        assert (
            stripe.post_event(client, stripe.checkout_session_completed(session)).status_code == 200
        )
        return charge

    pay_by_card(first)
    deliver(people.solver, first)
    accept(people.owner, first)
    login(people.solver)
    assert client.post(f"/payments/stripe/connect/user/{people.solver.id}").status_code == 302
    account = db.session.scalars(sa.select(StripeAccount)).one()
    updated = stripe.account_updated(fake.accounts[account.account_id])
    assert stripe.post_event(client, updated).status_code == 200
    assert client.post(f"/contracts/{contract.id}/payouts/payee").status_code == 302

    charge = pay_by_card(second)
    with transaction():
        workflow.request_cancellation(people.owner, reload(contract), "Plans changed")
    with transaction():
        workflow.confirm_cancellation(people.solver, reload(contract))
    refunded = stripe.charge_refunded(fake.refunded_charge(charge["id"]))
    assert stripe.post_event(client, refunded).status_code == 200

    assert str(db.session.scalars(sa.select(CardRefund)).one().status) == "succeeded"
    assert [str(m.status) for m in reload(contract).milestones] == ["released", "refunded"]
    assert kinds() == ["fund", "fund", "payout", "refund", "release"]
    assert set(balances()) == {"clearing:stripe", "revenue:commission", "revenue:client-fee"} | {
        f"revenue:center:{contract.center_id}"
    }
    assert_ledger_check_passes(app)


def test_the_check_reads_the_ledger_in_the_same_few_queries_however_long_it_is(
    app, people, award, rates
):
    def statements_of_a_check():
        seen = []

        def record(conn, cursor, statement, *args):
            seen.append(statement.lstrip().split()[0].upper())

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert reconcile.check() == []
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        return seen

    def contract_paid_out():
        contract = award([100_000, 200_000, 300_000])
        for milestone in contract.milestones:
            fund(milestone, people.owner, people.managers["qingdao"])
            deliver(people.solver, milestone)
            accept(people.owner, milestone)
        send(people.managers["qingdao"], request_payout(people.solver, contract, "payee"))

    contract_paid_out()
    short = statements_of_a_check()
    for _ in range(3):
        contract_paid_out()
    long = statements_of_a_check()

    assert len(kinds()) == 4 * 7
    assert long.count("SELECT") == short.count("SELECT") <= 10
    # It reads only: no account is made for the postings it expects.
    assert {"INSERT", "UPDATE", "DELETE"}.isdisjoint(long)


# --- entries written by hand are reported -------------------------------------------------------


@pytest.fixture
def half_done(people, award, rates):
    """A contract whose first milestone is released and paid out to the solver, and whose second
    is funded (¥3,000 + 1 % fee in escrow)."""
    contract = award([500_000, 300_000])
    first, second = contract.milestones
    qingdao = people.managers["qingdao"]
    fund(first, people.owner, qingdao)
    deliver(people.solver, first)
    accept(people.owner, first)
    send(qingdao, request_payout(people.solver, contract, "payee"))
    fund(second, people.owner, qingdao, "ICBC-0002")
    return contract


def test_the_stories_fixture_is_clean_before_anything_is_written_by_hand(app, half_done):
    assert_ledger_check_passes(app)


def test_a_balanced_entry_with_a_made_up_key_is_reported(app, half_done):
    entry = by_hand(
        "manual:fix:1", "fund", [("clearing:bank", -10_000), ("revenue:commission", 10_000)]
    )

    assert ledger.check() == [] and escrow.check() == []
    assert_reported(
        app,
        f"entry {entry} (manual:fix:1) matches no business event: its key names no event "
        "that moves money",
    )


def test_a_release_entry_for_a_milestone_that_is_only_funded_is_reported(app, half_done):
    second = half_done.milestones[1]
    # ledger.post refuses a key twice, so the hand-made "release" takes the funded milestone's
    # own release key, which no release used yet.
    entry = by_hand(
        f"release:milestone:{second.id}",
        "release",
        [
            (f"escrow:milestone:{second.id}", -303_000),
            (f"payable:contract:{half_done.id}:payee", 303_000),
        ],
        contract=half_done,
        milestone=second,
    )

    assert_reported(
        app,
        f"entry {entry} (release:milestone:{second.id}) matches no business event: milestone "
        f"{second.id} is funded, not released",
    )


@pytest.fixture
def asked(people, award, rates):
    """A released milestone (¥2,000) of another contract whose payee has asked for the ¥1,860
    left after commission and center share; the payout is not sent yet."""
    contract = award([200_000])
    (milestone,) = contract.milestones
    fund(milestone, people.owner, people.managers["qingdao"], "ICBC-0003")
    deliver(people.solver, milestone)
    accept(people.owner, milestone)
    payout = request_payout(people.solver, contract, "payee")
    assert payout.amount_fen == 186_000
    return payout


def set_sent(payout):
    """The payout marked sent behind the code's back."""
    db.session.execute(
        sa.text("UPDATE payouts SET status = 'sent' WHERE id = :id"), {"id": payout.id}
    )
    db.session.commit()


def test_a_payout_entry_whose_payout_is_only_requested_is_reported(app, half_done, asked):
    payable = f"payable:contract:{asked.contract_id}:payee"
    entry = by_hand(
        f"payout:{asked.id}",
        "payout",
        [(payable, -186_000), ("clearing:bank", 186_000)],
        contract=asked.contract,
    )

    assert ledger.check() == [] and escrow.check() == []
    assert_reported(
        app,
        f"entry {entry} (payout:{asked.id}) matches no business event: payout {asked.id} is "
        "requested, not sent",
    )


def test_a_fund_entry_of_a_milestone_whose_funding_is_pending_is_reported(app, people, award):
    contract = award([200_000])
    (milestone,) = contract.milestones
    with transaction():
        pending = fundings.start_funding(people.owner, milestone)
    entry = by_hand(
        f"fund:milestone:{milestone.id}",
        "fund",
        [
            ("clearing:bank", -pending.amount_fen),
            (f"escrow:milestone:{milestone.id}", pending.amount_fen),
        ],
        contract=contract,
        milestone=milestone,
    )

    assert_reported(
        app,
        f"entry {entry} (fund:milestone:{milestone.id}) matches no business event: milestone "
        f"{milestone.id} has no confirmed funding",
    )


def test_a_payout_entry_of_another_amount_than_the_payout_is_reported(app, half_done, asked):
    payable = f"payable:contract:{asked.contract_id}:payee"
    entry = by_hand(
        f"payout:{asked.id}",
        "payout",
        [(payable, -185_900), ("clearing:bank", 185_900)],
        contract=asked.contract,
    )
    set_sent(asked)

    assert ledger.check() == [] and escrow.check() == []
    assert_reported(
        app,
        f"entry {entry} (payout:{asked.id}) posts clearing:bank +185900, {payable} -185900, but "
        f"payout {asked.id} (sent, manual) calls for clearing:bank +186000, {payable} -186000",
    )


def test_an_entry_of_another_kind_or_contract_than_its_key_says_is_reported(app, half_done, asked):
    payable = f"payable:contract:{asked.contract_id}:payee"
    entry = by_hand(
        f"payout:{asked.id}",
        "release",
        [(payable, -186_000), ("clearing:bank", 186_000)],
        contract=half_done,
    )
    set_sent(asked)

    assert_reported(
        app,
        f"entry {entry} (payout:{asked.id}) is of kind release, but its key is of a payout",
        f"entry {entry} (payout:{asked.id}) names contract {half_done.id}, but payout "
        f"{asked.id} (sent, manual) is of contract {asked.contract_id}",
    )


def test_a_sent_payout_without_its_entry_is_reported(app, half_done, asked):
    set_sent(asked)

    assert ledger.check() == [] and escrow.check() == []
    assert_reported(app, f"payout {asked.id} (sent, manual) has no entry payout:{asked.id}")


def test_a_card_funding_confirmed_by_hand_without_a_stripe_event_is_reported(app, people, award):
    contract = award([200_000])
    (milestone,) = contract.milestones
    with transaction():
        card = fundings.start_funding(people.owner, milestone, "stripe")
    # Marked paid and booked by hand, as if Stripe had confirmed it: no event ever came.
    db.session.execute(
        sa.text("UPDATE fundings SET status = 'confirmed' WHERE id = :id"), {"id": card.id}
    )
    db.session.execute(
        sa.text("UPDATE milestones SET status = 'funded' WHERE id = :id"), {"id": milestone.id}
    )
    db.session.commit()
    by_hand(
        f"fund:milestone:{milestone.id}",
        "fund",
        [("clearing:stripe", -200_000), (f"escrow:milestone:{milestone.id}", 200_000)],
        contract=contract,
        milestone=milestone,
    )

    assert ledger.check() == [] and escrow.check() == []
    assert_reported(
        app,
        f"card funding {card.id} of milestone {milestone.id} is confirmed, but no processed "
        "Stripe payment event of 200000 credited it",
    )
