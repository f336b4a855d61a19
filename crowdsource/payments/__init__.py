"""Payments: the double-entry ledger, commission, escrow of milestones, providers, payouts."""

from flask import Blueprint

bp = Blueprint("payments", __name__)
