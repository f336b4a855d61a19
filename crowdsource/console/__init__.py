"""The operator console: the admin (and, within their centers, managers) find people and
organizations, suspend and reactivate accounts, moderate tasks and read the audit trail."""

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")
