"""Accounts: users, organizations, memberships, centers, login and registration."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)


def blueprint():
    """The blueprint with its views attached (imported here, not at package import, so that
    models of this package can be imported without loading every view)."""
    from crowdsource.accounts import center_views, org_views, views  # noqa: F401

    return bp
