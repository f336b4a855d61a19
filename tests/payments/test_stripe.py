"""Card payments through Stripe (issue 5), with Stripe played at its HTTP boundary only.

The real ``stripe`` library talks to tests.payments.fake_stripe; webhook events carry real
signatures and are verified by the library; jobs run inline, on fakeredis with a SimpleWorker,
or (PostgreSQL) on a real Redis with ``flask worker`` processes that build their own app.
"""

import datetime as dt
import json
import threading
import time

import pytest
import sqlalchemy as sa
from rq.job import Job

from crowdsource.contracts.models import Contract, Milestone
from crowdsource.db import db, transaction, utcnow
from crowdsource.payments import card, ledger, policy
from crowdsource.payments.models import (
    CardRefund,
    Funding,
    JournalEntry,
    Payout,
    StripeAccount,
    StripeEvent,
)
from crowdsource.sweep import sweep_due
from tests.payments import fake_stripe as stripe
from tests.payments.support import (
    accept,
    assert_ledger_check_passes,
    balances,
    connect_stripe,
    deliver,
    drain_queue,
    entries,
    entry_count,
    events,
    fake_queue,
    jobs_of,
    milestone_of,
    page,
    pay_by_card,
    received,
    released_and_connected,
    run_jobs,
    start_card_payment,
    stored_counts,
    texts,
    the,
)
from tests.plugin import Client
from tests.workers import wait_until

AMOUNT = 500_000  # a milestone of ¥5,000.00
DUE = 505_000  # with the 1 % client-side fee of the policy below
PAYEE_SHARE = 475_000  # less 5 % commission
RETRY_INTERVALS = [10, 30, 120, 600, 1800]


# --- helpers -----------------------------------------------------------------------------


@pytest.fixture
def card_policy(people):
    """The platform's policy: 5 % commission and a 1 % client-side fee."""
    with transaction():
        policy.set_policy(people.admin, None, None, 500, 100, 0, 3000)


@pytest.fixture
def contract(card_policy, award):
    """A contract of one milestone (¥5,000) with the solver as payee, under card_policy."""
    return award([AMOUNT])


# --- 1. the whole card flow through the pages ------------------------------------------------


def test_a_card_paid_milestone_goes_from_checkout_to_a_stripe_transfer(
    app, client, login, people, contract, stripe_fake
):
    fake = stripe_fake
    milestone = milestone_of(contract)
    login(people.owner)
    response = client.post(f"/milestones/{milestone.id}/fund/card")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{fake.url}/pay/cs_test_")

    (created,) = fake.received("POST", "/v1/checkout/sessions")
    funding = the(Funding)
    assert created.idempotency_key == f"checkout-milestone-{milestone.id}-attempt-1"
    assert created.params["line_items"][0]["price_data"]["unit_amount"] == str(DUE)
    assert created.params["line_items"][0]["price_data"]["currency"] == "cny"
    expected = {
        "contract_id": str(contract.id),
        "milestone_id": str(milestone.id),
        "funding_id": str(funding.id),
    }
    assert expected.items() <= created.params["metadata"].items()
    assert expected.items() <= created.params["payment_intent_data"]["metadata"].items()
    assert created.params["payment_intent_data"]["transfer_group"] == f"contract_{contract.id}"
    back = f"http://crowdsource.test/fundings/{funding.id}"  # PUBLIC_URL, whatever the host
    assert created.params["success_url"] == f"{back}?card=paid"
    assert created.params["cancel_url"] == f"{back}?card=cancelled"
    session = fake.session_of(created)
    assert funding.stripe_session_id == session["id"] and funding.amount_fen == DUE

    # Coming back from Stripe's page proves nothing: only Stripe's event credits escrow.
    back = client.get(f"/fundings/{funding.id}?card=paid")
    assert texts(back, "card-confirming") and "Stripe is confirming" in page(back)
    assert ledger.balance(f"escrow:milestone:{milestone.id}") == 0 and entry_count() == 0
    assert str(the(Funding).status) == "pending"

    paid, intent, _ = fake.pay(session["id"])
    assert received(client, stripe.checkout_session_completed(paid)) == {
        "received": True,
        "duplicate": False,
    }
    assert ledger.balance(f"escrow:milestone:{milestone.id}") == DUE
    assert balances() == {"clearing:stripe": -DUE, f"escrow:milestone:{milestone.id}": DUE}
    funding = the(Funding)
    assert str(funding.status) == "confirmed" and funding.stripe_payment_intent_id == intent["id"]
    assert texts(client.get(f"/tasks/{contract.task_id}"), "funded") == ["funded"]

    login(people.solver)
    assert client.post(f"/milestones/{milestone.id}/deliver", data={"note": "Done"}).status_code
    login(people.owner)
    assert client.post(f"/milestones/{milestone.id}/accept").status_code == 302
    assert ledger.balance(f"payable:contract:{contract.id}:payee") == PAYEE_SHARE

    # The payee connects a Stripe Express account and finishes Stripe's onboarding.
    login(people.solver)
    earnings = client.get("/earnings")
    assert "Connect a Stripe account" in texts(earnings, "stripe-account")[0]
    response = client.post(f"/payments/stripe/connect/user/{people.solver.id}")
    (account_request,) = fake.received("POST", "/v1/accounts")
    (link_request,) = fake.received("POST", "/v1/account_links")
    account = the(StripeAccount)
    assert account_request.params["type"] == "express"
    assert account_request.idempotency_key == f"account-user-{people.solver.id}"
    assert link_request.params["account"] == account.account_id in fake.accounts
    assert link_request.params["type"] == "account_onboarding"
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{fake.url}/setup/e/{account.account_id}/")
    assert not account.payouts_enabled
    assert "not ready" in texts(client.get("/earnings"), "stripe-account")[0]
    received(client, stripe.account_updated(fake.accounts[account.account_id]))
    assert the(StripeAccount).payouts_enabled
    earnings = client.get("/earnings")
    assert texts(earnings, "stripe-account") == ["Payouts go to your Stripe account."]
    assert "Pay ¥4,750.00 out to my Stripe account" in page(earnings)

    # The payout: one Transfer in the contract's transfer group, then the ledger.
    response = client.post(f"/contracts/{contract.id}/payouts/payee")
    assert response.status_code == 302
    payout = the(Payout)
    (transfer_request,) = fake.received("POST", "/v1/transfers")
    assert transfer_request.idempotency_key == f"payout-{payout.id}"
    assert transfer_request.params["amount"] == str(PAYEE_SHARE)
    assert transfer_request.params["currency"] == "cny"
    assert transfer_request.params["destination"] == account.account_id
    assert transfer_request.params["transfer_group"] == f"contract_{contract.id}"
    assert transfer_request.params["metadata"]["payout_id"] == str(payout.id)
    (transfer,) = fake.transfers
    assert str(payout.status) == "sent" and payout.provider == "stripe"
    assert payout.stripe_transfer_id == transfer["id"]
    assert balances() == {
        "clearing:stripe": -DUE + PAYEE_SHARE,
        "revenue:commission": AMOUNT - PAYEE_SHARE,
        "revenue:client-fee": DUE - AMOUNT,
    }
    earnings = client.get("/earnings")
    assert texts(earnings, "balance") == ["¥0.00"]
    assert transfer["id"] in texts(earnings, "payout")[0]
    assert_ledger_check_passes(app)


# --- 2. every event once, in any order ---------------------------------------------------


def test_an_event_delivered_ten_times_is_stored_and_credited_once(
    client, login, people, contract, stripe_fake
):
    milestone = milestone_of(contract)
    session_id = start_card_payment(client, login, people.owner, milestone, stripe_fake)
    completed = stripe.checkout_session_completed(stripe_fake.pay(session_id)[0])

    answers = [received(client, completed) for _ in range(10)]

    assert [answer["duplicate"] for answer in answers] == [False] + [True] * 9
    assert [row.event_id for row in events()] == [completed["id"]]
    assert entries("fund") == 1 and ledger.balance(f"escrow:milestone:{milestone.id}") == DUE


@pytest.mark.parametrize("first", ["checkout.session.completed", "payment_intent.succeeded"])
def test_both_events_of_one_payment_in_either_order_credit_once(
    app, client, login, people, contract, stripe_fake, first
):
    milestone = milestone_of(contract)
    session_id = start_card_payment(client, login, people.owner, milestone, stripe_fake)
    session, intent, _ = stripe_fake.pay(session_id)
    both = [stripe.checkout_session_completed(session), stripe.payment_intent_succeeded(intent)]
    if first == "payment_intent.succeeded":
        both.reverse()

    for evt in both:
        received(client, evt)

    assert [(row.type, str(row.status)) for row in events()] == [
        (evt["type"], "processed") for evt in both
    ]
    assert [row.note for row in events()] == ["escrow credited", "already credited"]
    assert entries("fund") == 1
    assert balances() == {"clearing:stripe": -DUE, f"escrow:milestone:{milestone.id}": DUE}
    funding = the(Funding)
    assert str(funding.status) == "confirmed" and funding.external_reference == intent["id"]
    assert str(db.session.get(Milestone, milestone.id).status) == "funded"
    assert_ledger_check_passes(app)


def payment_state(milestone, sequence):
    """What a user and the books see of one card-paid milestone and its events."""
    db.session.expire_all()
    milestone = db.session.get(Milestone, milestone.id)
    funding = db.session.scalars(sa.select(Funding).filter_by(milestone_id=milestone.id)).one()
    rows = db.session.scalars(
        sa.select(StripeEvent).where(StripeEvent.event_id.in_([evt["id"] for evt in sequence]))
    ).all()
    return {
        "milestone": str(milestone.status),
        "contract": str(milestone.contract.status),
        "funding": str(funding.status),
        "entries": sorted(
            db.session.scalars(
                sa.select(JournalEntry.kind).filter_by(contract_id=milestone.contract_id)
            ).all()
        ),
        "escrow": ledger.balance(f"escrow:milestone:{milestone.id}"),
        "events": sorted((row.type, str(row.status)) for row in rows),
    }


def test_a_payments_events_in_reverse_order_reach_the_same_state_as_in_order(
    app, client, login, people, contract, award, stripe_fake
):
    fake, reached = stripe_fake, []
    for order, milestone in (
        ("in order", milestone_of(contract)),
        ("reversed", milestone_of(award([AMOUNT]))),
    ):
        session, intent, charge = fake.pay(
            start_card_payment(client, login, people.owner, milestone, fake)
        )
        sequence = [
            stripe.payment_intent_succeeded(intent),
            stripe.checkout_session_completed(session),
            stripe.charge_dispute_created(charge),
        ]
        if order == "reversed":
            sequence.reverse()
        for evt in sequence:
            received(client, evt)
        if order == "reversed":
            # The dispute came before the payment it disputes: it waits for the sweep.
            assert payment_state(milestone, sequence)["milestone"] == "funded"
            assert sweep_due()["stripe_events"] == 1
        reached.append(payment_state(milestone, sequence))

    in_order, reversed_order = reached
    assert in_order == {
        "milestone": "disputed",
        "contract": "in_dispute",
        "funding": "confirmed",
        "entries": ["fund"],
        "escrow": DUE,
        "events": [
            ("charge.dispute.created", "processed"),
            ("checkout.session.completed", "processed"),
            ("payment_intent.succeeded", "processed"),
        ],
    }
    assert reversed_order == in_order
    assert_ledger_check_passes(app)


def test_an_account_event_before_the_account_is_recorded_waits_for_the_sweep(
    client, login, people, stripe_fake
):
    fake = stripe_fake
    # Stripe creates the account, but its answer is lost (the call times out).
    fake.fail("/v1/accounts", "delay", seconds=10)
    login(people.solver)
    response = client.post(f"/payments/stripe/connect/user/{people.solver.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/earnings"
    assert "Stripe is not answering" in page(client.get("/earnings"))
    (account,) = fake.accounts.values()
    assert db.session.scalar(sa.select(sa.func.count(StripeAccount.id))) == 0

    received(client, stripe.account_updated(account))
    (row,) = events()
    assert str(row.status) == "deferred" and row.note == "the account is not recorded yet"

    fake.recover()
    response = client.post(f"/payments/stripe/connect/user/{people.solver.id}")
    assert response.headers["Location"].startswith(f"{fake.url}/setup/e/{account['id']}/")
    assert len(fake.accounts) == 1  # the same key gave the same account back
    assert not the(StripeAccount).payouts_enabled
    assert sweep_due()["stripe_events"] == 1
    assert the(StripeAccount).payouts_enabled
    assert str(events()[0].status) == "processed"


@pytest.mark.postgresql
def test_ten_simultaneous_deliveries_and_two_workers_credit_once(
    app, client, login, people, contract, stripe_fake, redis_queue, workers
):
    milestone = milestone_of(contract)
    session_id = start_card_payment(client, login, people.owner, milestone, stripe_fake)
    session, intent, _ = stripe_fake.pay(session_id)
    completed = stripe.checkout_session_completed(session)
    succeeded = stripe.payment_intent_succeeded(intent)
    db.session.commit()
    barrier = threading.Barrier(10)
    answers = [None] * 10

    def deliver_event(number):
        app.test_client_class = Client
        stripe_client = app.test_client()
        barrier.wait(timeout=20)
        answers[number] = stripe.post_event(stripe_client, completed if number < 5 else succeeded)

    threads = [threading.Thread(target=deliver_event, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [answer.status_code for answer in answers] == [200] * 10
    assert sorted(answer.get_json()["duplicate"] for answer in answers) == [False] * 2 + [True] * 8
    assert sorted(row.event_id for row in events()) == sorted([completed["id"], succeeded["id"]])
    assert len(jobs_of(redis_queue, "crowdsource.payments.jobs:process_stripe_event")) == 2
    assert entries("fund") == 0  # nothing happens before a worker runs the jobs

    workers.finish(workers.start(), workers.start())

    assert {str(row.status) for row in events()} == {"processed"}
    assert sorted(row.note for row in events()) == ["already credited", "escrow credited"]
    assert entries("fund") == 1 and ledger.balance(f"escrow:milestone:{milestone.id}") == DUE
    assert redis_queue.failed_count == 0
    assert_ledger_check_passes(app)


# --- 3. only Stripe's signature opens the webhook ------------------------------------------


@pytest.mark.parametrize(
    "forgery", ["bad signature", "no header", "wrong secret", "tampered body", "too old"]
)
def test_a_webhook_without_a_valid_signature_is_refused_and_stores_nothing(
    client, login, people, contract, stripe_fake, forgery
):
    milestone = milestone_of(contract)
    session_id = start_card_payment(client, login, people.owner, milestone, stripe_fake)
    completed = stripe.checkout_session_completed(stripe_fake.pay(session_id)[0])
    before = stored_counts()
    signing = {
        "bad signature": {"signature": f"t={int(time.time())},v1={'ab' * 32}"},
        "no header": {"signature": ""},
        "wrong secret": {"secret": "whsec_someone_else"},
        "tampered body": {},
        "too old": {"timestamp": time.time() - 301},
    }[forgery]
    payload = json.dumps(completed)
    header = signing.pop("signature", None)
    if header is None:
        header = stripe.sign(payload, **signing)
    if forgery == "tampered body":
        tampered = payload.replace(f'"amount_total": {DUE}', '"amount_total": 1')
        assert tampered != payload
        payload = tampered

    response = stripe.post_event(client, payload, signature=header)

    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid signature"}
    assert stored_counts() == before and entry_count() == 0
    # The same event as Stripe signs it is taken.
    received(client, completed)
    assert entries("fund") == 1


# --- 4. every payout of a contract, and a work horse killed in the middle of one -------------


def keyed_entries(key):
    """The journal entries written under one idempotency key (``payout:7``)."""
    return db.session.scalar(
        sa.select(sa.func.count(JournalEntry.id)).filter_by(idempotency_key=key)
    )


def paid_and_accepted(client, login, people, milestone, fake, deliverer):
    pay_by_card(client, login, people, milestone, fake)
    drain_queue()
    deliver(deliverer, milestone)
    accept(people.owner, milestone)


def pay_out(client, login, user, contract, role):
    """The user asks for the payable of ``role`` (sent through Stripe at once); returns the
    payout and the payable's balance before."""
    before = ledger.balance(f"payable:contract:{contract.id}:{role}")
    assert before > 0
    login(user)
    assert client.post(f"/contracts/{contract.id}/payouts/{role}").status_code == 302
    db.session.expire_all()
    payout = db.session.scalars(sa.select(Payout).order_by(Payout.id.desc())).first()
    return payout, before


@pytest.mark.parametrize("second", ["the next milestone's", "the agency's after the payee's"])
def test_the_second_stripe_payout_of_a_contract_is_sent_too(
    app, client, login, people, card_policy, award, stripe_fake, second
):
    fake = stripe_fake
    if second == "the next milestone's":
        contract = award([AMOUNT, AMOUNT])
        first, then = sorted(contract.milestones, key=lambda m: m.position)
        paid_and_accepted(client, login, people, first, fake, people.solver)
        connect_stripe(client, login, people.solver, fake)
        steps = [(people.solver, "payee", first), (people.solver, "payee", then)]
    else:
        contract = award([AMOUNT], brokerage_bps=1000)
        (milestone,) = contract.milestones
        paid_and_accepted(client, login, people, milestone, fake, people.broker)
        connect_stripe(client, login, people.professor, fake, people.institute)
        connect_stripe(client, login, people.broker, fake, people.agency)
        steps = [(people.professor, "payee", None), (people.broker, "agency", None)]

    sent = []
    for user, role, milestone in steps:
        if milestone is not None and milestone is not first:
            paid_and_accepted(client, login, people, milestone, fake, people.solver)
        payout, amount = pay_out(client, login, user, contract, role)
        sent.append((payout.id, amount))
        assert str(payout.status) == "sent", payout.failure_reason
        assert ledger.balance(f"payable:contract:{contract.id}:{role}") == 0
        assert texts(client.get("/earnings"), "balance") == ["¥0.00"]

    assert [(t["metadata"]["payout_id"], t["amount"]) for t in fake.transfers] == [
        (str(payout_id), amount) for payout_id, amount in sent
    ]
    assert fake.count("POST", "/v1/transfers") == 2
    assert [keyed_entries(f"payout:{payout_id}") for payout_id, _ in sent] == [1, 1]
    assert_ledger_check_passes(app)


@pytest.mark.postgresql
@pytest.mark.parametrize("retried_by", ["RQ", "the sweep"])
def test_a_payout_whose_work_horse_was_killed_after_stripe_made_the_transfer_is_sent_once(
    app, client, login, people, contract, stripe_fake, redis_queue, workers, retried_by
):
    fake = stripe_fake
    account = released_and_connected(client, login, people, contract, fake)
    fake.fail("/v1/transfers", "delay", method="POST", seconds=120)
    login(people.solver)
    assert client.post(f"/contracts/{contract.id}/payouts/payee").status_code == 302
    (job,) = jobs_of(redis_queue, "crowdsource.payments.jobs:send_stripe_payout")

    worker = workers.start()
    # Stripe made the Transfer and holds its answer; the job dies before it hears it.
    wait_until(lambda: fake.effect_count("POST", "/v1/transfers") == 1, what="the Transfer")
    workers.kill_horse(worker)
    workers.finish(worker)  # the worker saw its horse die: RQ schedules the job's retry
    fake.recover()
    payout = the(Payout)
    assert str(payout.status) == "processing" and entries("payout") == 0
    job.refresh()
    assert job.get_status() == "scheduled" and job.retries_left == len(RETRY_INTERVALS) - 1

    if retried_by == "the sweep":
        # Long after the last attempt (read from the row: the worker's clock is not ours).
        later = payout.last_attempt_at + dt.timedelta(minutes=card.RETRY_STALE_MINUTES + 1)
        assert sweep_due(later)["stripe_payouts"] == 1
        workers.finish(workers.start())
        assert str(the(Payout).status) == "sent"
    # RQ's retry, once its interval has passed (after the sweep's job: it finds it sent).
    redis_queue.requeue_scheduled(job)
    workers.finish(workers.start())

    assert fake.count("POST", "/v1/transfers") == 1
    (transfer,) = fake.transfers
    assert transfer["destination"] == account.account_id
    payout = the(Payout)
    assert str(payout.status) == "sent" and payout.stripe_transfer_id == transfer["id"]
    assert keyed_entries(f"payout:{payout.id}") == 1 and entries("payout") == 1
    assert ledger.balance(f"payable:contract:{contract.id}:payee") == 0
    assert ledger.balance("clearing:stripe") == -DUE + PAYEE_SHARE
    assert redis_queue.failed_count == 0
    login(people.solver)
    assert transfer["id"] in texts(client.get("/earnings"), "payout")[0]
    assert_ledger_check_passes(app)


# --- 5. Stripe down or refusing ------------------------------------------------------------


@pytest.mark.parametrize("outage", ["500", "hang"])
def test_card_funding_while_stripe_is_down_charges_nothing_and_retries_with_the_same_key(
    client, login, people, contract, stripe_fake, outage
):
    milestone = milestone_of(contract)
    stripe_fake.fail("/v1/checkout/sessions", outage)
    login(people.owner)

    response = client.post(f"/milestones/{milestone.id}/fund/card")

    funding = the(Funding)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/fundings/{funding.id}"
    shown = page(client.get(response.headers["Location"]))
    assert "Stripe is not answering right now. Nothing was charged" in shown
    (problem,) = texts(client.get(f"/fundings/{funding.id}"), "card-problem")
    assert problem.startswith("Stripe is not answering (")
    assert str(funding.status) == "pending" and funding.failure_reason
    assert entry_count() == 0 and funding.stripe_session_id is None

    stripe_fake.recover()
    response = client.post(f"/milestones/{milestone.id}/fund/card")
    assert response.headers["Location"].startswith(f"{stripe_fake.url}/pay/cs_test_")
    keys = {r.idempotency_key for r in stripe_fake.received("POST", "/v1/checkout/sessions")}
    assert keys == {f"checkout-milestone-{milestone.id}-attempt-1"}
    assert len(stripe_fake.sessions) == 1
    funding = the(Funding)
    assert funding.failure_reason is None and funding.stripe_session_id
    assert texts(client.get(f"/fundings/{funding.id}"), "card-problem") == []


@pytest.mark.parametrize("outage", ["500", "hang"])
def test_a_payout_while_stripe_is_down_stays_processing_and_is_retried_until_sent_once(
    app, client, login, people, contract, stripe_fake, rq_app, outage
):
    fake = stripe_fake
    released_and_connected(client, login, people, contract, fake)
    queue = fake_queue(rq_app)
    fake.fail("/v1/transfers", outage, method="POST")
    login(people.solver)
    assert client.post(f"/contracts/{contract.id}/payouts/payee").status_code == 302
    (job,) = jobs_of(queue, "crowdsource.payments.jobs:send_stripe_payout")
    assert (job.retries_left, job.retry_intervals) == (len(RETRY_INTERVALS), RETRY_INTERVALS)

    run_jobs(queue)

    job.refresh()
    assert job.get_status() == "scheduled" and job.retries_left == len(RETRY_INTERVALS) - 1
    assert queue.failed_count == 0
    payout = the(Payout)
    assert str(payout.status) == "processing" and entries("payout") == 0
    earnings = client.get("/earnings")
    (problem,) = texts(earnings, "payout-problem")
    assert problem.startswith("Stripe is not answering (")
    assert "being sent" in texts(earnings, "payout")[0]
    assert texts(earnings, "balance") == ["¥4,750.00"]
    assert ledger.balance(f"payable:contract:{contract.id}:payee") == PAYEE_SHARE
    assert fake.transfers == []

    fake.recover()
    assert sweep_due(utcnow() + dt.timedelta(minutes=11))["stripe_payouts"] == 1
    run_jobs(queue)
    (transfer,) = fake.transfers
    assert str(the(Payout).status) == "sent" and entries("payout") == 1
    # RQ's own retry comes later and finds the payout sent.
    queue.requeue_scheduled(job)
    run_jobs(queue)
    assert fake.count("POST", "/v1/transfers") == 2  # the one that failed and the one that worked
    assert fake.transfers == [transfer] and entries("payout") == 1
    assert ledger.balance(f"payable:contract:{contract.id}:payee") == 0
    assert_ledger_check_passes(app)


def test_a_transfer_stripe_refuses_fails_the_payout_with_stripes_message(
    app, client, login, people, contract, stripe_fake
):
    fake = stripe_fake
    released_and_connected(client, login, people, contract, fake)
    refusal = "Your destination account needs to have at least one of the transfers capability."
    fake.fail("/v1/transfers", "400", method="POST", message=refusal)
    login(people.solver)

    assert client.post(f"/contracts/{contract.id}/payouts/payee").status_code == 302

    payout = the(Payout)
    assert str(payout.status) == "failed" and refusal in payout.failure_reason
    earnings = client.get("/earnings")
    assert refusal in texts(earnings, "payout-problem")[0]
    assert texts(earnings, "balance") == ["¥4,750.00"]
    assert entries("payout") == 0 and fake.transfers == []
    # Once Stripe takes it, the payee asks again and is paid.
    fake.recover()
    assert client.post(f"/contracts/{contract.id}/payouts/payee").status_code == 302
    assert entries("payout") == 1 and len(fake.transfers) == 1
    assert ledger.balance(f"payable:contract:{contract.id}:payee") == 0
    assert_ledger_check_passes(app)


# --- 6. refunds, disputes and late payments --------------------------------------------------


def cancel_by_agreement(client, login, people, contract):
    login(people.owner)
    response = client.post(
        f"/contracts/{contract.id}/cancellation/propose", data={"reason": "Plans changed"}
    )
    assert response.status_code == 302
    login(people.solver)
    assert client.post(f"/contracts/{contract.id}/cancellation/confirm").status_code == 302
    assert str(db.session.get(Contract, contract.id).status) == "cancelled"


@pytest.mark.parametrize("refund_status", ["pending", "succeeded"])
def test_a_cancelled_card_paid_milestone_is_refunded_to_the_card_once_stripe_confirms(
    app, client, login, people, contract, stripe_fake, refund_status
):
    fake = stripe_fake
    milestone = milestone_of(contract)
    _, intent, charge = pay_by_card(client, login, people, milestone, fake)
    fake.refund_status = refund_status

    cancel_by_agreement(client, login, people, contract)

    (request,) = fake.received("POST", "/v1/refunds")
    assert request.idempotency_key == f"refund-milestone-{milestone.id}"
    assert request.params["payment_intent"] == intent["id"]
    assert request.params["amount"] == str(DUE)
    refund = the(CardRefund)
    assert refund.stripe_refund_id == next(iter(fake.refunds))
    escrow_code = f"escrow:milestone:{milestone.id}"
    if refund_status == "pending":
        assert str(refund.status) == "pending" and entries("refund") == 0
        assert ledger.balance(escrow_code) == DUE
        assert str(db.session.get(Milestone, milestone.id).status) == "funded"
        assert_ledger_check_passes(app)
    else:
        assert str(refund.status) == "succeeded" and entries("refund") == 1

    for _ in range(2):  # Stripe tells us (and, as it may, tells us again)
        received(client, stripe.charge_refunded(fake.refunded_charge(charge["id"])))

    assert str(the(CardRefund).status) == "succeeded"
    assert entries("refund") == 1
    assert str(db.session.get(Milestone, milestone.id).status) == "refunded"
    assert balances() == {}  # escrow went back to clearing:stripe: nothing is held
    assert {str(row.status) for row in events()} == {"processed"}
    assert_ledger_check_passes(app)


def test_a_card_dispute_freezes_the_milestone_and_nothing_releases_it(
    app, client, login, people, contract, stripe_fake
):
    milestone = milestone_of(contract)
    _, _, charge = pay_by_card(client, login, people, milestone, stripe_fake)
    deliver(people.solver, milestone)

    received(client, stripe.charge_dispute_created(charge))

    assert str(db.session.get(Milestone, milestone.id).status) == "disputed"
    assert str(db.session.get(Contract, contract.id).status) == "in_dispute"
    login(people.owner)
    assert client.post(f"/milestones/{milestone.id}/accept").status_code == 409
    changes = client.post(f"/milestones/{milestone.id}/changes", data={"reason": "More"})
    assert changes.status_code == 409
    cancel = client.post(f"/contracts/{contract.id}/cancellation/propose", data={"reason": "x"})
    assert cancel.status_code == 409
    sweep_due(utcnow() + dt.timedelta(days=30))  # long after the review period
    assert str(db.session.get(Milestone, milestone.id).status) == "disputed"
    assert entries("release") == 0 and ledger.balance(f"escrow:milestone:{milestone.id}") == DUE
    assert_ledger_check_passes(app)


def test_a_payment_arriving_after_the_milestone_was_cancelled_is_refunded_and_not_booked(
    app, client, login, people, contract, stripe_fake
):
    fake = stripe_fake
    milestone = milestone_of(contract)
    session_id = start_card_payment(client, login, people.owner, milestone, fake)
    cancel_by_agreement(client, login, people, contract)
    assert str(db.session.get(Milestone, milestone.id).status) == "cancelled"

    session, intent, _ = fake.pay(session_id)  # the payer finishes Stripe's page anyway
    received(client, stripe.checkout_session_completed(session))
    received(client, stripe.payment_intent_succeeded(intent))

    assert entry_count() == 0
    (refund,) = fake.refunds.values()
    assert refund["payment_intent"] == intent["id"] and refund["amount"] == DUE
    keys = {r.idempotency_key for r in fake.received("POST", "/v1/refunds")}
    assert keys == {f"refund-unneeded-{intent['id']}"}
    assert [row.note.split(":")[0] for row in events()] == ["refunded, not needed"] * 2
    assert str(db.session.get(Milestone, milestone.id).status) == "cancelled"
    assert_ledger_check_passes(app)


# --- 7. the admin's page of jobs and Stripe --------------------------------------------------


def test_the_admin_sees_failed_jobs_unapplied_events_and_unsent_payouts_and_retries_a_job(
    app, client, login, people, contract, award, stripe_fake, rq_app
):
    fake = stripe_fake
    account = released_and_connected(client, login, people, contract, fake)
    fake.fail("/v1/transfers", "400", method="POST", message="Transfers are not enabled.")
    login(people.solver)
    client.post(f"/contracts/{contract.id}/payouts/payee")
    # A late payment for a cancelled contract, while Stripe's refunds are down, with RQ.
    queue = fake_queue(rq_app)
    late = milestone_of(award([AMOUNT]))
    session_id = start_card_payment(client, login, people.owner, late, fake)
    cancel_by_agreement(client, login, people, late.contract)
    fake.fail("/v1/refunds", "500", message="Stripe had a hiccup.")
    received(client, stripe.checkout_session_completed(fake.pay(session_id)[0]))
    received(client, stripe.account_updated(dict(fake.accounts[account.account_id], id="acct_x")))
    run_jobs(queue)
    for _ in RETRY_INTERVALS:  # Stripe stays down through every retry, and RQ gives up
        assert queue.failed_count == 0
        queue.requeue_all_scheduled()
        run_jobs(queue)
    assert queue.failed_count == 1

    for outsider in (people.owner, people.solver, people.managers["shandong"]):
        login(outsider)
        assert client.get("/admin/jobs").status_code == 403
        retry = client.post(f"/admin/jobs/{queue.failed_ids()[0]}/retry")
        assert retry.status_code == 403
        assert client.post("/admin/stripe/retry").status_code == 403
    assert queue.failed_count == 1

    login(people.admin)
    shown = client.get("/admin/jobs")
    (failed,) = texts(shown, "failed-job")
    assert "crowdsource.payments.jobs:refund_unneeded_payment" in failed
    assert "StripeUnavailable" in failed and "Stripe had a hiccup." in failed
    (event_line,) = texts(shown, "stripe-event")
    assert "account.updated" in event_line and "not recorded yet" in event_line
    (payout_line,) = texts(shown, "stripe-payout")
    assert "failed" in payout_line and "Transfers are not enabled." in payout_line

    fake.recover()
    (job_id,) = queue.failed_ids()
    assert client.post(f"/admin/jobs/{job_id}/retry").status_code == 302
    assert queue.failed_count == 0 and job_id in queue.job_ids
    run_jobs(queue)
    assert Job.fetch(job_id, connection=queue.connection).get_status() == "finished"
    (refund,) = fake.refunds.values()
    assert refund["amount"] == DUE
    assert texts(client.get("/admin/jobs"), "failed-job") == []
    assert entry_count() == entries("fund") + entries("release")  # the late payment: none
