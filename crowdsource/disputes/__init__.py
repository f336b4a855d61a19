"""Disputes over milestones and their arbitration by the managers of innovation centers."""

from flask import Blueprint

bp = Blueprint("disputes", __name__)


def blueprint():
    """The blueprint with its views attached (imported here, not at package import, so that
    models of this package can be imported without loading every view)."""
    from crowdsource.disputes import views  # noqa: F401

    return bp
