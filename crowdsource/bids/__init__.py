"""Bids: bidding by individuals and agencies, shortlist, rejection, award."""

from flask import Blueprint

bp = Blueprint("bids", __name__)


def blueprint():
    """The blueprint with its views attached (imported here, not at package import, so that
    models of this package can be imported without loading every view)."""
    from crowdsource.bids import views  # noqa: F401

    return bp
