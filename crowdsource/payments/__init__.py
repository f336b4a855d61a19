"""Payments: the double-entry ledger, commission, escrow of milestones, providers, payouts."""

from flask import Blueprint

bp = Blueprint("payments", __name__)


def blueprint():
    """The blueprint with its views attached (imported here, not at package import)."""
    from crowdsource.payments import manage_views, stripe_views, views  # noqa: F401

    return bp
