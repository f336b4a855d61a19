"""Accounts: users, organizations, memberships, centers, login and registration."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from crowdsource.accounts import center_views, org_views, views  # noqa: E402, F401
