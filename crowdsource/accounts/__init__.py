"""Accounts: users, organizations, memberships, centers, login and registration."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)
