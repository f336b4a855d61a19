"""Background jobs of the payments package (RQ entry points; inline without Redis).

Each takes ids, opens its own transactions, and is safe to run again: what was done is found
done. Calls to Stripe happen between transactions; when Stripe cannot be reached the job raises
so that RQ retries it later (and the sweep retries what a lost job left undone).
"""

from crowdsource.db import transaction, utcnow
from crowdsource.payments import card, stripe_api
from crowdsource.payments.models import CardRefundStatus


def process_stripe_event(event_row_id):
    """Apply a stored webhook event."""
    with transaction():
        card.process_event(event_row_id)


def send_stripe_payout(payout_id):
    """Pay a payout by a Transfer to the payee's connected account (once, whatever happens)."""
    with transaction():
        started = card.begin_payout(payout_id)
    if started is None:
        return
    payout, destination = started
    try:
        transfer = card.transfer_for(payout, destination)
    except stripe_api.StripeUnavailable as error:
        with transaction():
            card.note_unavailable(payout, str(error))
        raise
    except stripe_api.StripeRefused as error:
        with transaction():
            card.fail_payout(payout_id, str(error))
        return
    with transaction():
        card.complete_payout(payout_id, transfer.id)


def refund_card_payment(refund_id):
    """Ask Stripe to refund a card-paid milestone; post it once Stripe confirms."""
    with transaction():
        refund = card.lock_refund(refund_id)
        if refund is None or refund.status != CardRefundStatus.PENDING:
            return
        refund.last_attempt_at = utcnow()
        payment_intent = refund.funding.stripe_payment_intent_id
        params = {
            "payment_intent": payment_intent,
            "amount": refund.amount_fen,
            "metadata": {"milestone_id": str(refund.milestone_id), "refund_id": str(refund.id)},
        }
    try:
        result = stripe_api.create_refund(params, f"refund-milestone-{refund.milestone_id}")
    except stripe_api.StripeUnavailable as error:
        with transaction():
            card.note_unavailable(card.lock_refund(refund_id), str(error))
        raise
    except stripe_api.StripeRefused as error:
        with transaction():
            card.fail_refund(card.lock_refund(refund_id), str(error))
        return
    with transaction():
        refund = card.lock_refund(refund_id)
        refund.stripe_refund_id = result.id
        if result.status == "succeeded":
            card.settle_refund(refund)
        elif result.status in ("failed", "canceled"):
            card.fail_refund(refund, getattr(result, "failure_reason", None) or result.status)


def refund_unneeded_payment(payment_intent, amount):
    """Give back a card payment that no milestone could take (it never entered our books)."""
    stripe_api.create_refund(
        {"payment_intent": payment_intent, "amount": amount}, f"refund-unneeded-{payment_intent}"
    )
