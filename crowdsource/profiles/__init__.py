"""Profiles that sell: the portfolio items and certifications people and agencies show on their
public profile pages."""

from flask import Blueprint

bp = Blueprint("profiles", __name__)
