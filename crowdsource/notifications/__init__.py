"""Notifications: the in-app list with an unread count, and e-mail for important ones."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)
