"""Disputes over milestones and their arbitration by the managers of innovation centers."""

from flask import Blueprint

bp = Blueprint("disputes", __name__)
