"""Contracts: the agreement an award creates, and its milestones."""

from flask import Blueprint

bp = Blueprint("contracts", __name__)
