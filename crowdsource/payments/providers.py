"""Payment providers: how money comes in (funding), goes back (refunds) and goes out
(payouts).

``manual`` (the default) is the bank transfer: the enterprise transfers the amount due to the
platform's bank account with a reference code, a manager of the contract's center records its
arrival, and records the transfers sent to payees; a refund becomes the enterprise's payable.
Other providers (Stripe: :mod:`crowdsource.payments.card`) plug in here, with the same methods:
``reference_for``, ``instructions``, ``refund``, ``payee_account`` and ``start_payout``.
Escrow and payouts ask a provider; they never import one.
"""

import secrets

import sqlalchemy as sa
from flask import current_app

from crowdsource.db import db
from crowdsource.payments import card, escrow
from crowdsource.payments.models import Funding, FundingStatus

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class ManualProvider:
    """Bank transfer, confirmed by a center manager."""

    name = "manual"

    def reference_for(self, milestone):
        """A unique, readable code for the enterprise's transfer of this milestone."""
        suffix = "".join(secrets.choice(ALPHABET) for _ in range(4))
        return f"{milestone.contract.number.replace('-', '')}M{milestone.position}{suffix}"

    def instructions(self, funding):
        """What the enterprise needs to make the transfer."""
        config = current_app.config
        return {
            "bank_name": config["PLATFORM_BANK_NAME"],
            "account_name": config["PLATFORM_BANK_ACCOUNT_NAME"],
            "account_number": config["PLATFORM_BANK_ACCOUNT_NUMBER"],
            "reference": funding.reference,
            "amount_fen": funding.amount_fen,
        }

    def refund(self, milestone, funding, actor, now, reason):
        """The escrow becomes the enterprise's payable (a manager sends it back)."""
        escrow.refund_milestone(milestone, actor, now, reason)

    def payee_account(self, contract, role):
        """Bank transfers need no account of ours: a manager sends them."""
        return None

    def start_payout(self, payout):
        """Nothing to start: a manager of the center records the transfer sent."""


class StripeProvider:
    """Card payment through Stripe Checkout; escrow is credited by Stripe's webhook."""

    name = "stripe"

    def reference_for(self, milestone):
        return ManualProvider().reference_for(milestone)

    def instructions(self, funding):
        return {
            "checkout_url": funding.checkout_url,
            "amount_fen": funding.amount_fen,
            "reference": funding.reference,
        }

    def refund(self, milestone, funding, actor, now, reason):
        """Back to the card; the escrow moves when Stripe confirms the refund."""
        card.request_refund(milestone, funding, actor)

    def payee_account(self, contract, role):
        """The connected Stripe account the payable of ``role`` would be paid to, or None."""
        return card.payee_account(contract, role)

    def start_payout(self, payout):
        """A job sends the Transfer once the request is committed."""
        card.enqueue_stripe_payout(payout.id)


PROVIDERS = {"manual": ManualProvider(), "stripe": StripeProvider()}


def current():
    """The provider new fundings use (PAYMENT_PROVIDER, default manual)."""
    return PROVIDERS[current_app.config["PAYMENT_PROVIDER"]]


def get(name):
    return PROVIDERS[name]


def refund_escrow(milestone, actor, now, reason):
    """Give a milestone's escrow back to the enterprise through the provider that took the
    payment (the manual one when no confirmed funding says otherwise). The milestone must be
    locked and escrowed."""
    funding = db.session.scalar(
        sa.select(Funding)
        .filter_by(milestone_id=milestone.id, status=FundingStatus.CONFIRMED)
        .order_by(Funding.id.desc())
        .limit(1)
    )
    provider = get(funding.provider) if funding is not None else PROVIDERS["manual"]
    provider.refund(milestone, funding, actor, now, reason)
