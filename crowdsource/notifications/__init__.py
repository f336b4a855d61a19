"""Notifications: the in-app list with an unread count, and e-mail for important ones."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)


def blueprint():
    """The blueprint with its views attached (imported here, not at package import, so that
    models of this package can be imported without loading every view)."""
    from crowdsource.notifications import views  # noqa: F401

    return bp
