"""Card payments and payouts through Stripe: Checkout for funding, verified webhook events
(stored once, processed by jobs, in whatever order they come), Transfers to payees' connected
Express accounts, Refunds of card payments.

Money moves in the ledger only when Stripe has confirmed it: escrow is credited by the payment's
event (never by the payer's return to our site); a payout or refund is posted after Stripe
answered with the Transfer or a succeeded Refund. Calls to Stripe happen outside database
transactions and carry idempotency keys derived from our objects.
"""

import datetime as dt
import json

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from crowdsource import audit, outbox
from crowdsource.contracts.models import (
    CONTRACT_MOVES,
    ESCROWED_STATES,
    MILESTONE_MOVES,
    ContractStatus,
    MilestoneStatus,
)
from crowdsource.db import db, lock, relock, utcnow
from crowdsource.errors import DomainError
from crowdsource.lifecycle import SYSTEM, transition
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import Amount, notify
from crowdsource.outbox import enqueue
from crowdsource.payments import chart, escrow, ledger, stripe_api
from crowdsource.payments.models import (
    CARD_REFUND_MOVES,
    FUNDING_MOVES,
    PAYOUT_MOVES,
    STRIPE_EVENT_MOVES,
    CardRefund,
    CardRefundStatus,
    Funding,
    FundingStatus,
    Payout,
    PayoutStatus,
    StripeAccount,
    StripeEvent,
    StripeEventStatus,
)

#: job retries for calls to Stripe: waits in seconds between attempts
RETRY_INTERVALS = [10, 30, 120, 600, 1800]
#: a payout or refund whose job has not tried for this long is tried again by the sweep
RETRY_STALE_MINUTES = 10


class NotReady(Exception):
    """The event needs another event's effect first (events arrive in any order)."""


def transfer_group(contract):
    return f"contract_{contract.id}"


# --- funding by card ---------------------------------------------------------------------


def checkout_params(funding, success_url, cancel_url):
    milestone = funding.milestone
    contract = milestone.contract
    metadata = {
        "contract_id": str(contract.id),
        "milestone_id": str(milestone.id),
        "funding_id": str(funding.id),
        "contract_number": contract.number,
    }
    name = f"{contract.number} M{milestone.position}: {milestone.title}"[:250]
    return {
        "mode": "payment",
        "client_reference_id": str(funding.id),
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": funding.currency.lower(),
                    "unit_amount": funding.amount_fen,
                    "product_data": {"name": name},
                },
            }
        ],
        "payment_intent_data": {"transfer_group": transfer_group(contract), "metadata": metadata},
        "metadata": metadata,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }


def create_checkout(funding, success_url, cancel_url):
    """Ask Stripe for the Checkout Session of a card funding (no database work: call it
    between transactions). The key is the milestone's and attempt's, so asking again returns
    the same session."""
    key = f"checkout-milestone-{funding.milestone_id}-attempt-{funding.attempt}"
    return stripe_api.create_checkout_session(
        checkout_params(funding, success_url, cancel_url), key
    )


def attach_session(funding, session):
    """Remember the Checkout Session of a funding."""
    relock(funding)
    funding.stripe_session_id = session.id
    funding.checkout_url = session.url
    funding.failure_reason = None
    if getattr(session, "payment_intent", None):
        funding.stripe_payment_intent_id = session.payment_intent
    db.session.flush()


def note_unavailable(record, message):
    """Keep why Stripe could not be reached on a funding, payout or refund (shown to people)."""
    relock(record)
    record.failure_reason = str(
        _l("Stripe is not answering (%(message)s). Retrying automatically.", message=message)
    )[:1000]
    db.session.flush()


# --- webhook events ----------------------------------------------------------------------


def store_event(event):
    """Store a verified event once; returns (row, whether it is new)."""
    row = StripeEvent(
        event_id=event["id"], type=event["type"], payload=json.dumps(event, default=str)
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        existing = db.session.scalars(sa.select(StripeEvent).filter_by(event_id=event["id"])).one()
        return existing, False
    return row, True


def enqueue_processing(row):
    # Retried by RQ when its worker dies, as well as by the sweep (which finds it unprocessed).
    enqueue(
        "crowdsource.payments.jobs:process_stripe_event",
        row.id,
        queue=outbox.PAYMENTS,
        retry_intervals=RETRY_INTERVALS,
    )


def process_event(row_id, now=None):
    """Apply one stored event (locked; already processed ones are left alone)."""
    row = lock(StripeEvent, row_id)
    if row is None or row.status in (StripeEventStatus.PROCESSED, StripeEventStatus.IGNORED):
        return row
    event = json.loads(row.payload)
    handler = HANDLERS.get(row.type)
    row.attempts += 1
    if handler is None:
        outcome = StripeEventStatus.IGNORED, "not an event we act on"
    else:
        try:
            with db.session.begin_nested():
                outcome = handler(event["data"]["object"], now or utcnow())
        except NotReady as waiting:
            outcome = StripeEventStatus.DEFERRED, str(waiting)
    status, row.note = outcome
    if status != row.status:  # a deferred event deferred again stays as it is
        transition(row, status, STRIPE_EVENT_MOVES, actor=SYSTEM, reason=row.note[:300])
    row.processed_at = now or utcnow()
    db.session.flush()
    return row


def _funding_for(obj):
    """The funding a payment object belongs to: by our metadata, else by its PaymentIntent."""
    metadata = obj.get("metadata") or {}
    if metadata.get("funding_id", "").isdigit():
        funding = db.session.get(Funding, int(metadata["funding_id"]))
        if funding is not None:
            return funding
    is_intent = obj.get("object") == "payment_intent"
    payment_intent = obj.get("id") if is_intent else obj.get("payment_intent")
    if payment_intent:
        return db.session.scalar(
            sa.select(Funding).filter_by(stripe_payment_intent_id=payment_intent)
        )
    return None


def _credit(funding, amount, payment_intent, now):
    if funding is None or funding.provider != "stripe":
        return StripeEventStatus.IGNORED, "no card funding of ours for this payment"
    if payment_intent and not funding.stripe_payment_intent_id:
        funding.stripe_payment_intent_id = payment_intent
    milestone = escrow.lock_milestone(funding.milestone_id)
    relock(funding)
    if funding.status == FundingStatus.CONFIRMED:
        return StripeEventStatus.PROCESSED, "already credited"
    try:
        escrow.fund_milestone(
            milestone.id, amount, "stripe", now=now, note=f"card payment {payment_intent}"
        )
    except DomainError as refused:
        # Paid, but the milestone cannot take it (cancelled, paid otherwise, wrong amount):
        # the money never enters our books and goes back to the card.
        # Retried like every call to Stripe: nothing else would give the payer the money back.
        enqueue(
            "crowdsource.payments.jobs:refund_unneeded_payment",
            payment_intent,
            amount,
            queue=outbox.PAYMENTS,
            retry_intervals=RETRY_INTERVALS,
        )
        return StripeEventStatus.PROCESSED, f"refunded, not needed: {refused.message}"
    transition(funding, FundingStatus.CONFIRMED, FUNDING_MOVES, reason=payment_intent, actor=SYSTEM)
    funding.confirmed_at = now
    funding.external_reference = payment_intent
    return StripeEventStatus.PROCESSED, "escrow credited"


def _on_checkout_completed(session, now):
    if session.get("payment_status") != "paid":
        return StripeEventStatus.IGNORED, "not paid yet"
    funding = _funding_for(session)
    return _credit(funding, session.get("amount_total"), session.get("payment_intent"), now)


def _on_payment_succeeded(intent, now):
    funding = _funding_for(intent)
    return _credit(funding, intent.get("amount_received"), intent.get("id"), now)


def _on_charge_refunded(charge, now):
    funding = _funding_for(charge)
    if funding is None or funding.status != FundingStatus.CONFIRMED:
        raise NotReady("the payment's own event has not been processed yet")
    refund = db.session.scalar(sa.select(CardRefund).filter_by(milestone_id=funding.milestone_id))
    if refund is None:
        return StripeEventStatus.FAILED, (
            "refunded outside the platform: the escrow still holds it — reconcile by hand"
        )
    if refund.status == CardRefundStatus.SUCCEEDED:
        return StripeEventStatus.PROCESSED, "refund already recorded"
    settle_refund(refund, now)
    return StripeEventStatus.PROCESSED, "refund recorded"


def _on_dispute(dispute, now):
    funding = _funding_for(dispute)
    if funding is None or funding.status != FundingStatus.CONFIRMED:
        raise NotReady("the payment's own event has not been processed yet")
    milestone = escrow.lock_milestone(funding.milestone_id)
    reason = f"card payment disputed at the bank ({dispute.get('id')}: {dispute.get('reason')})"
    if milestone.status == MilestoneStatus.DISPUTED:
        return StripeEventStatus.PROCESSED, "already frozen"
    if milestone.status not in ESCROWED_STATES:
        return StripeEventStatus.FAILED, (
            f"{reason}, but the money already left escrow: answer the dispute in Stripe"
        )
    transition(milestone, MilestoneStatus.DISPUTED, MILESTONE_MOVES, reason=reason, actor=SYSTEM)
    contract = milestone.contract
    if contract.status == ContractStatus.ACTIVE:
        transition(contract, ContractStatus.IN_DISPUTE, CONTRACT_MOVES, reason=reason, actor=SYSTEM)
    return StripeEventStatus.PROCESSED, "milestone frozen"


def _on_account_updated(account, now):
    row = db.session.scalar(sa.select(StripeAccount).filter_by(account_id=account.get("id")))
    if row is None:
        raise NotReady("the account is not recorded yet")
    row.payouts_enabled = bool(account.get("payouts_enabled"))
    row.details_submitted = bool(account.get("details_submitted"))
    row.updated_at = now
    return StripeEventStatus.PROCESSED, (
        "can receive payouts" if row.payouts_enabled else "cannot receive payouts yet"
    )


HANDLERS = {
    "checkout.session.completed": _on_checkout_completed,
    "payment_intent.succeeded": _on_payment_succeeded,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute,
    "account.updated": _on_account_updated,
}


# --- connected accounts ------------------------------------------------------------------


def account_of(user=None, organization=None):
    if organization is not None:
        return db.session.scalar(
            sa.select(StripeAccount).filter_by(organization_id=organization.id)
        )
    return db.session.scalar(sa.select(StripeAccount).filter_by(user_id=user.id))


def payee_account(contract, role):
    """The Stripe account a contract's payable of ``role`` would be paid to, or None."""
    if role == "payee":
        if contract.payee_user_id is not None:
            return account_of(user=contract.payee_user)
        return account_of(organization=contract.payee_organization)
    if role == "agency" and contract.agency is not None:
        return account_of(organization=contract.agency)
    return None


def create_account(owner_key, metadata):
    """Ask Stripe for an Express account (between transactions); the key is the owner's."""
    return stripe_api.create_express_account(
        {"type": "express", "metadata": metadata}, f"account-{owner_key}"
    )


def record_account(account_id, user=None, organization=None):
    existing = db.session.scalar(sa.select(StripeAccount).filter_by(account_id=account_id))
    if existing is not None:
        return existing
    row = StripeAccount(
        account_id=account_id,
        user_id=user.id if user is not None else None,
        organization_id=organization.id if organization is not None else None,
    )
    db.session.add(row)
    db.session.flush()
    return row


# --- payouts -----------------------------------------------------------------------------


def _lock_payout(payout_id):
    return lock(Payout, payout_id)


def begin_payout(payout_id):
    """Mark a Stripe payout as being sent; returns the payout and its destination account, or
    None when there is nothing to do (already sent, cancelled, failed)."""
    payout = _lock_payout(payout_id)
    if payout is None or payout.status not in (PayoutStatus.REQUESTED, PayoutStatus.PROCESSING):
        return None
    role = chart.parse_payable(payout.account.code).role
    account = payee_account(payout.contract, role)
    if account is None or not account.payouts_enabled:
        transition(
            payout,
            PayoutStatus.FAILED,
            PAYOUT_MOVES,
            reason="the Stripe account cannot receive payouts",
            actor=SYSTEM,
        )
        payout.failure_reason = str(_l("The Stripe account cannot receive payouts yet."))
        db.session.flush()
        return None
    if payout.status == PayoutStatus.REQUESTED:
        transition(payout, PayoutStatus.PROCESSING, PAYOUT_MOVES, actor=SYSTEM)
    payout.last_attempt_at = utcnow()
    db.session.flush()
    return payout, account.account_id


def enqueue_stripe_payout(payout_id):
    enqueue(
        "crowdsource.payments.jobs:send_stripe_payout",
        payout_id,
        queue=outbox.PAYMENTS,
        retry_intervals=RETRY_INTERVALS,
    )


def transfer_for(payout, destination):
    """The Transfer of a payout: found if an earlier attempt made it, else created (with the
    payout's idempotency key). Call between transactions."""
    group = transfer_group(payout.contract)
    existing = stripe_api.find_transfer(group, payout.id)
    if existing is not None:
        return existing
    params = {
        "amount": payout.amount_fen,
        "currency": payout.currency.lower(),
        "destination": destination,
        "transfer_group": group,
        "description": f"{payout.contract.number} payout {payout.id}",
        "metadata": {"payout_id": str(payout.id), "contract_id": str(payout.contract_id)},
    }
    return stripe_api.create_transfer(params, f"payout-{payout.id}")


def complete_payout(payout_id, transfer_id, now=None):
    """Stripe made the Transfer: post the payout (once) and mark it sent."""
    payout = _lock_payout(payout_id)
    if payout is None or payout.status == PayoutStatus.SENT:
        return payout
    ledger.post(
        f"payout:{payout.id}",
        "payout",
        [
            ledger.Leg(payout.account, -payout.amount_fen),
            ledger.Leg(ledger.account_named(chart.clearing("stripe")), payout.amount_fen),
        ],
        description=f"{payout.contract.number} payout, Stripe transfer {transfer_id}",
        contract_id=payout.contract_id,
    )
    transition(payout, PayoutStatus.SENT, PAYOUT_MOVES, reason=transfer_id, actor=SYSTEM)
    payout.stripe_transfer_id = transfer_id
    payout.sent_at = now or utcnow()
    payout.failure_reason = None
    contract = payout.contract
    notify(
        [payout.requested_by],
        Kind.PAYOUT_SENT,
        f"/contracts/{contract.id}",
        contract.task,
        number=contract.number,
        amount=Amount(payout.amount_fen),
    )
    db.session.flush()
    return payout


def fail_payout(payout_id, reason):
    """Stripe refused the Transfer: the balance stays payable and the reason is shown."""
    payout = _lock_payout(payout_id)
    if payout is None or payout.status not in (PayoutStatus.REQUESTED, PayoutStatus.PROCESSING):
        return payout
    transition(payout, PayoutStatus.FAILED, PAYOUT_MOVES, reason=reason[:300], actor=SYSTEM)
    payout.failure_reason = reason[:1000]
    db.session.flush()
    return payout


# --- refunds -----------------------------------------------------------------------------


def paid_by_card(milestone):
    """The confirmed card funding of a milestone, or None."""
    return db.session.scalar(
        sa.select(Funding).filter_by(
            milestone_id=milestone.id, status=FundingStatus.CONFIRMED, provider="stripe"
        )
    )


def request_refund(milestone, funding, actor=None):
    """Start the refund of a card-paid milestone's escrow (the milestone stays escrowed until
    Stripe confirms); a job asks Stripe after the commit."""
    existing = db.session.scalar(sa.select(CardRefund).filter_by(milestone_id=milestone.id))
    if existing is not None:
        return existing
    refund = CardRefund(
        milestone_id=milestone.id, funding_id=funding.id, amount_fen=milestone.due_fen
    )
    db.session.add(refund)
    db.session.flush()
    audit.record("card_refund", refund.id, "requested", actor, to_state=refund.status)
    enqueue_refund(refund.id)
    return refund


def enqueue_refund(refund_id):
    enqueue(
        "crowdsource.payments.jobs:refund_card_payment",
        refund_id,
        queue=outbox.PAYMENTS,
        retry_intervals=RETRY_INTERVALS,
    )


def lock_refund(refund_id):
    return lock(CardRefund, refund_id)


def fail_refund(refund, reason):
    """Stripe refused or cancelled the refund: the escrow stays, the reason is shown. A refund
    no longer pending (confirmed meanwhile by its event) is left as it is."""
    if refund.status != CardRefundStatus.PENDING:
        return
    transition(
        refund, CardRefundStatus.FAILED, CARD_REFUND_MOVES, reason=reason[:300], actor=SYSTEM
    )
    refund.failure_reason = reason[:1000]


def settle_refund(refund, now=None):
    """Stripe confirmed the refund: move the escrow out (once) and mark the milestone refunded."""
    refund = lock_refund(refund.id)
    if refund.status == CardRefundStatus.SUCCEEDED:
        return refund
    milestone = escrow.lock_milestone(refund.milestone_id)
    escrow.refund_to_provider(
        milestone,
        "stripe",
        now or utcnow(),
        f"refunded to the card ({refund.stripe_refund_id or 'Stripe'})",
    )
    transition(refund, CardRefundStatus.SUCCEEDED, CARD_REFUND_MOVES, actor=SYSTEM)
    refund.settled_at = now or utcnow()
    db.session.flush()
    return refund


# --- the sweep ---------------------------------------------------------------------------


def sweep_due(now=None, stale_minutes=RETRY_STALE_MINUTES):
    """Retry what waits on Stripe: deferred or unprocessed events, payouts and refunds whose
    jobs failed or were lost. Returns counts."""
    if not stripe_api.enabled():
        return {}
    events = db.session.scalars(
        sa.select(StripeEvent.id)
        .where(StripeEvent.status.in_([StripeEventStatus.RECEIVED, StripeEventStatus.DEFERRED]))
        .order_by(StripeEvent.id)
    ).all()
    for event_id in events:
        process_event(event_id, now)
    stale = (now or utcnow()) - dt.timedelta(minutes=stale_minutes)
    payouts = db.session.scalars(
        sa.select(Payout.id).where(
            Payout.provider == "stripe",
            Payout.status.in_([PayoutStatus.REQUESTED, PayoutStatus.PROCESSING]),
            sa.or_(Payout.last_attempt_at.is_(None), Payout.last_attempt_at < stale),
        )
    ).all()
    refunds = db.session.scalars(
        sa.select(CardRefund.id).where(
            CardRefund.status == CardRefundStatus.PENDING,
            sa.or_(CardRefund.last_attempt_at.is_(None), CardRefund.last_attempt_at < stale),
        )
    ).all()
    for payout_id in payouts:
        enqueue_stripe_payout(payout_id)
    for refund_id in refunds:
        enqueue_refund(refund_id)
    return {
        "stripe_events": len(events),
        "stripe_payouts": len(payouts),
        "card_refunds": len(refunds),
    }
