"""Two sweepers at once send a saved search's digest once (PostgreSQL: SQLite ignores row
locks)."""

import pytest
import sqlalchemy as sa

from crowdsource.db import db, transaction
from crowdsource.searches import services
from crowdsource.searches.models import SearchDigest
from tests.helpers import together

pytestmark = [pytest.mark.postgresql, pytest.mark.committing]


def test_two_sweepers_at_once_send_the_digest_once(app, make_user, make_org, make_task, clock,
                                                    outbox):  # fmt: skip
    reader, owner = make_user(), make_user()
    with transaction():
        search = services.save_search(reader, {"q": "robot"})
    clock.advance(minutes=5)
    make_task(owner, make_org(owner), title="Robot cell", fields=[], skills=[])
    clock.advance(days=1)
    outcomes = together(app, [services.sweep_due, services.sweep_due, services.sweep_due])
    assert sorted(outcomes) == [0, 0, 1], outcomes
    digests = db.session.scalars(sa.select(SearchDigest).filter_by(saved_search_id=search.id))
    assert len(list(digests)) == 1
    assert [m.to for m in outbox if "saved search" in m.subject] == [[reader.email]]
