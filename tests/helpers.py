"""Helpers shared by tests (fixtures live in conftest.py)."""

import html
import os
import re

import pytest
import sqlalchemy as sa

from crowdsource.db import db

#: the password of every user made by the ``make_user`` builder
PASSWORD = "correct horse battery"


def services_required():
    return os.environ.get("REQUIRE_SERVICES") == "1"


def unavailable(reason):
    """Skip for a missing service, or fail when the services are required."""
    if services_required():
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def table_counts():
    """Rows per table: a snapshot to prove that a refused request stored nothing."""
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def form_errors(response):
    """The error messages of a rendered form page, by field name."""
    errors = {}
    page = response.get_data(as_text=True)
    for field, message in re.findall(
        r'<div class="invalid-feedback" data-field="([^"]*)">([^<]*)</div>', page
    ):
        errors.setdefault(field, []).append(html.unescape(message))
    return errors
