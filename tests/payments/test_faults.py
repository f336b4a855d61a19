"""Faults caused for real in every job that talks to Stripe, and in the web request that makes a
Checkout Session: the process is killed with SIGKILL at each point of its external call and
then retried; Stripe's effect and the ledger's happen exactly once.

The points: BEFORE the call (the fake Stripe holds the request before acting; the kill drops
the connection and Stripe does nothing), AFTER it (Stripe acted and holds its answer), and
AFTER THE DATABASE WRITE (the process pauses after the commit that recorded the effect, before
it returns). A killed job is retried by RQ (its worker sees the horse die and schedules the
retry) and, where the sweep retries that kind, by the sweep too. The work horses are ``rq
worker`` processes (tests.workers) on PostgreSQL and a real Redis; Stripe is the fake at its
HTTP boundary (tests.payments.fake_stripe).
"""

import datetime as dt
import json
import re
import threading
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa

from crowdsource.contracts.models import Contract
from crowdsource.db import db, transaction, utcnow
from crowdsource.payments import card, ledger, policy
from crowdsource.payments.models import (
    CardRefund,
    Funding,
    JournalEntry,
    Payout,
    StripeEvent,
)
from crowdsource.sweep import sweep_due
from tests.helpers import PASSWORD
from tests.payments import fake_stripe as stripe
from tests.payments.support import (
    assert_ledger_check_passes,
    entries,
    entry_count,
    jobs_of,
    milestone_of,
    page,
    pay_by_card,
    received,
    released_and_connected,
    start_card_payment,
    the,
)
from tests.workers import wait_until

pytestmark = [pytest.mark.postgresql, pytest.mark.committing]

AMOUNT = 500_000  # a milestone of ¥5,000.00
DUE = 505_000  # with the 1 % client-side fee
RETRY_INTERVALS = card.RETRY_INTERVALS
BEFORE, AFTER, COMMITTED = "before the call", "after the call", "after the commit"
STARTED = "before the commit"  # a job without a call: killed with its transaction open
JOB = "crowdsource.payments.jobs:"


@pytest.fixture
def contract(people, award):
    """One milestone of ¥5,000 for the solver, at 5 % commission and a 1 % client-side fee."""
    with transaction():
        policy.set_policy(people.admin, None, None, 500, 100, 0, 3000)
    return award([AMOUNT])


def keyed_entries(key):
    return db.session.scalar(
        sa.select(sa.func.count(JournalEntry.id)).filter_by(idempotency_key=key)
    )


def settle_queue(queue, keep):
    """Run here every queued job but the ``keep`` kind (and what they enqueue), so the worker
    under test finds only the job it is to be killed in."""
    while True:
        others = [job for job in queue.jobs if job.args and job.args[0] != keep]
        if not others:
            break
        for job in others:
            queue.remove(job)
            job.perform()
    db.session.expire_all()


def cancel_by_agreement(client, login, people, contract):
    login(people.owner)
    response = client.post(
        f"/contracts/{contract.id}/cancellation/propose", data={"reason": "Plans changed"}
    )
    assert response.status_code == 302, page(response)
    login(people.solver)
    assert client.post(f"/contracts/{contract.id}/cancellation/confirm").status_code == 302


# --- each job kind: how its one job comes to wait in the queue, and its single effect --------


def payout_waiting(t):
    released_and_connected(t.client, t.login, t.people, t.contract, t.fake)
    t.login(t.people.solver)
    assert t.client.post(f"/contracts/{t.contract.id}/payouts/payee").status_code == 302


def payout_done(t):
    payout = the(Payout)
    (transfer,) = t.fake.transfers
    assert str(payout.status) == "sent" and payout.stripe_transfer_id == transfer["id"]
    assert keyed_entries(f"payout:{payout.id}") == 1 and entries("payout") == 1
    assert ledger.balance(f"payable:contract:{t.contract.id}:payee") == 0


def refund_waiting(t):
    pay_by_card(t.client, t.login, t.people, milestone_of(t.contract), t.fake)
    settle_queue(t.queue, keep=None)
    cancel_by_agreement(t.client, t.login, t.people, t.contract)


def refund_done(t):
    (refund,) = t.fake.refunds.values()
    assert refund["amount"] == DUE
    row = the(CardRefund)
    assert str(row.status) == "succeeded" and row.stripe_refund_id == refund["id"]
    assert entries("refund") == 1
    assert ledger.balance(f"escrow:milestone:{milestone_of(t.contract).id}") == 0


def unneeded_refund_waiting(t):
    """A payment completed after its milestone was cancelled: its event's job (run here)
    leaves the refund job waiting."""
    milestone = milestone_of(t.contract)
    session_id = start_card_payment(t.client, t.login, t.people.owner, milestone, t.fake)
    cancel_by_agreement(t.client, t.login, t.people, t.contract)
    received(t.client, stripe.checkout_session_completed(t.fake.pay(session_id)[0]))
    settle_queue(t.queue, keep=JOB + "refund_unneeded_payment")


def unneeded_refund_done(t):
    (refund,) = t.fake.refunds.values()
    (intent,) = t.fake.intents.values()
    assert refund["payment_intent"] == intent["id"] and refund["amount"] == DUE
    assert entry_count() == 0  # the money never entered the books


def event_waiting(t):
    milestone = milestone_of(t.contract)
    session_id = start_card_payment(t.client, t.login, t.people.owner, milestone, t.fake)
    received(t.client, stripe.checkout_session_completed(t.fake.pay(session_id)[0]))


def event_done(t):
    (row,) = db.session.scalars(sa.select(StripeEvent)).all()
    assert str(row.status) == "processed" and row.note == "escrow credited"
    assert entries("fund") == 1 and str(the(Funding).status) == "confirmed"
    assert ledger.balance(f"escrow:milestone:{milestone_of(t.contract).id}") == DUE


@dataclass
class Kind:
    job: str
    waiting: object  # fills the queue with one job of the kind
    done: object  # asserts its one effect at Stripe and in the ledger
    call: str | None  # the path of its POST to Stripe
    commit: int  # the transaction that records the effect (0: none)
    swept: str | None  # what the sweep counts when it retries it (None: it does not)


KINDS = {
    "transfer": Kind(
        "send_stripe_payout", payout_waiting, payout_done, "/v1/transfers", 2, "stripe_payouts"
    ),
    "refund": Kind(
        "refund_card_payment", refund_waiting, refund_done, "/v1/refunds", 2, "card_refunds"
    ),
    "unneeded refund": Kind(
        "refund_unneeded_payment",
        unneeded_refund_waiting,
        unneeded_refund_done,
        "/v1/refunds",
        0,
        None,
    ),
    "webhook event": Kind(
        "process_stripe_event", event_waiting, event_done, None, 1, "stripe_events"
    ),
}


def cases():
    for name, kind in KINDS.items():
        points = [BEFORE, AFTER] if kind.call else [STARTED]
        points += [COMMITTED] if kind.commit else []
        for point in points:
            for retried_by in ["RQ", "the sweep"] if kind.swept else ["RQ"]:
                yield pytest.param(name, point, retried_by, id=f"{name}-{point}-{retried_by}")


def kill_at(point, kind, fake, workers):
    """Start a worker and kill its horse at ``point`` of the job's call; the worker lives on
    and schedules RQ's retry."""
    if point == BEFORE:
        fake.fail(kind.call, "hold", method="POST", seconds=120)
    elif point == AFTER:
        fake.fail(kind.call, "delay", method="POST", seconds=120)
    worker = workers.start(
        pause_after_commit=kind.commit if point == COMMITTED else None,
        pause_before_commit=kind.commit if point == STARTED else None,
    )
    if point == BEFORE:
        fake.wait_for("POST", kind.call)
        workers.kill_horse(worker)
        fake.wait_for_drop("POST", kind.call)
        assert fake.effect_count("POST", kind.call) == 0  # Stripe never acted
    elif point == AFTER:
        wait_until(lambda: fake.effect_count("POST", kind.call) == 1, what="Stripe's effect")
        workers.kill_horse(worker)
    else:
        workers.wait_for_pause(worker)
        workers.kill_horse(worker)
    workers.finish(worker)
    fake.recover()


def stale_moment():
    """A moment long after the last attempt of any payout or refund (read from the rows: a
    worker's clock is not this process's)."""
    latest = [
        db.session.scalar(sa.select(sa.func.max(model.last_attempt_at)))
        for model in (Payout, CardRefund)
    ]
    latest = max([moment for moment in latest if moment is not None], default=utcnow())
    return max(latest, utcnow()) + dt.timedelta(minutes=card.RETRY_STALE_MINUTES + 1)


@pytest.mark.parametrize(("name", "point", "retried_by"), list(cases()))
def test_a_stripe_job_killed_at_any_point_has_its_effect_once(
    app, client, login, people, contract, stripe_fake, redis_queue, workers, name, point, retried_by
):
    kind, fake = KINDS[name], stripe_fake
    t = SimpleNamespace(
        client=client, login=login, people=people, contract=contract, fake=fake, queue=redis_queue
    )
    kind.waiting(t)
    settle_queue(redis_queue, keep=JOB + kind.job)
    (job,) = jobs_of(redis_queue, JOB + kind.job)
    assert redis_queue.count == 1, redis_queue.jobs

    kill_at(point, kind, fake, workers)
    job.refresh()
    assert job.get_status() == "scheduled" and job.retries_left == len(RETRY_INTERVALS) - 1

    if retried_by == "the sweep":
        # What the killed job left undone is found by the sweep; what it recorded is not.
        swept = sweep_due(stale_moment())
        assert swept[kind.swept] == (0 if point == COMMITTED else 1)
        workers.finish(workers.start())  # the jobs the sweep enqueued
    redis_queue.requeue_scheduled(job)  # RQ's retry, its interval passed
    workers.finish(workers.start())

    if kind.call:
        assert fake.effect_count("POST", kind.call) == 1
    kind.done(t)
    assert redis_queue.failed_count == 0
    assert_ledger_check_passes(app)


# --- the Checkout Session, made by the web request: the app server is killed ---------------


class Browser:
    """A user's browser against the app server: cookies, and the CSRF token of the page."""

    def __init__(self, server):
        self.server, self.http = server, requests.Session()
        self.http.headers["Accept-Language"] = "en"

    def token(self):
        shown = self.http.get(f"{self.server.url}/login", timeout=60).text
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', shown).group(1)

    def post(self, path, **data):
        data["csrf_token"] = self.token()
        return self.http.post(
            f"{self.server.url}{path}", data=data, allow_redirects=False, timeout=60
        )

    def log_in(self, user):
        response = self.post("/login", email=user.email, password=PASSWORD)
        assert response.status_code == 302, response.text


@pytest.mark.parametrize("point", [BEFORE, AFTER, COMMITTED])
def test_a_checkout_whose_app_server_was_killed_makes_one_session_and_one_payment(
    app, people, contract, stripe_fake, redis_queue, workers, app_server, point
):
    fake, milestone = stripe_fake, milestone_of(contract)
    click = f"/milestones/{milestone.id}/fund/card"
    sessions = "/v1/checkout/sessions"
    db.session.commit()
    # The server that takes the click is held at Stripe, or pauses after the click's second
    # commit (the funding, then its session) and before it answers.
    if point == COMMITTED:
        app_server.start(pause_after_commit=2, pause_path=r"/fund/card$")
    else:
        app_server.start()
        fake.fail(sessions, "hold" if point == BEFORE else "delay", method="POST", seconds=120)
    browser = Browser(app_server)
    browser.log_in(people.owner)
    answers = []
    clicking = threading.Thread(target=lambda: answers.append(_click(browser, click)))
    clicking.start()
    if point == BEFORE:
        fake.wait_for("POST", sessions)
        app_server.kill()
        fake.wait_for_drop("POST", sessions)
        assert fake.effect_count("POST", sessions) == 0
    elif point == AFTER:
        wait_until(lambda: fake.effect_count("POST", sessions) == 1, what="the session")
        app_server.kill()
    else:
        app_server.wait_for_pause()
        db.session.expire_all()
        assert the(Funding).stripe_session_id  # the pause came after the session was kept
        app_server.kill()
    clicking.join(timeout=120)
    assert answers == ["dropped"]  # the user saw the connection fail
    fake.recover()

    app_server.start()
    response = _click(browser, click)  # the user clicks again
    assert response.status_code == 302, response.text
    (session,) = [stored["session"] for stored in fake.sessions.values()]
    assert response.headers["Location"] == session["url"]
    assert fake.effect_count("POST", sessions) == 1
    keys = {request.idempotency_key for request in fake.received("POST", sessions)}
    assert keys == {f"checkout-milestone-{milestone.id}-attempt-1"}

    paid = fake.pay(session["id"])[0]
    payload = json.dumps(stripe.checkout_session_completed(paid))
    delivered = requests.post(
        f"{app_server.url}/payments/stripe/webhook",
        data=payload.encode(),
        headers={"Stripe-Signature": stripe.sign(payload), "Content-Type": "application/json"},
        timeout=60,
    )
    assert delivered.status_code == 200, delivered.text
    workers.finish(workers.start())
    funding = the(Funding)
    assert str(funding.status) == "confirmed" and funding.stripe_session_id == session["id"]
    assert entries("fund") == 1 and entry_count() == 1
    assert ledger.balance(f"escrow:milestone:{milestone.id}") == DUE
    assert str(db.session.get(Contract, contract.id).milestones[0].status) == "funded"
    assert_ledger_check_passes(app)


def _click(browser, path):
    try:
        return browser.post(path)
    except requests.ConnectionError:
        return "dropped"
