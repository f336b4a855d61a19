"""The audit trail is append-only in the database itself: an UPDATE or DELETE of its rows is
refused on SQLite and PostgreSQL alike, whoever issues it."""

import pytest
import sqlalchemy as sa

from crowdsource import audit
from crowdsource.db import transaction


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET reason = 'rewritten'", "DELETE FROM audit_events"],
)
def test_audit_events_cannot_be_changed_or_deleted(db, make_user, statement):
    user = make_user()
    with transaction():
        audit.record("task", 1, "status", user, "draft", "open", "published")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), transaction():
        db.session.execute(sa.text(statement))
    (event,) = audit.trail("task", 1)
    assert (event.reason, event.from_state, event.to_state) == ("published", "draft", "open")
