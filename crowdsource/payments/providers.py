"""Payment providers: how money comes in (funding) and goes out (payouts).

``manual`` (the default) is the bank transfer: the enterprise transfers the amount due to the
platform's bank account with a reference code, a manager of the contract's center records its
arrival, and records the transfers sent to payees. Other providers (Stripe) plug in here.
"""

import secrets

from flask import current_app

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


PROVIDERS = {"manual": ManualProvider(), "stripe": StripeProvider()}


def current():
    """The provider new fundings use (PAYMENT_PROVIDER, default manual)."""
    return PROVIDERS[current_app.config["PAYMENT_PROVIDER"]]


def get(name):
    return PROVIDERS[name]
