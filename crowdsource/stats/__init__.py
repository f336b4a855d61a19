"""Statistics and open data: the dashboards of center managers and the admin, the public
statistics page, CSV downloads and the read-only open-data API under ``/api/v1/``."""

from flask import Blueprint

bp = Blueprint("stats", __name__)
#: the open-data API, nested in ``bp`` (its endpoints are ``stats.api.*``)
api_bp = Blueprint("api", __name__, url_prefix="/api/v1")
