"""Saved searches: a user keeps a search of the task list and gets a daily e-mail of the new
tasks that match it."""

from flask import Blueprint

bp = Blueprint("searches", __name__)
