"""Bids: bidding by individuals and agencies, shortlist, rejection, award."""

from flask import Blueprint

bp = Blueprint("bids", __name__)
