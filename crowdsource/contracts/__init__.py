"""Contracts: the agreement an award creates, and its milestones."""

from flask import Blueprint

bp = Blueprint("contracts", __name__)


def blueprint():
    """The blueprint with its views attached (imported here, not at package import, so that
    models of this package can be imported without loading every view)."""
    from crowdsource.contracts import rating_views, views  # noqa: F401

    return bp
