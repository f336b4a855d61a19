"""Two look-alike organization names registered at the same moment: the unique name key lets
one in and the other is told why at its name field (PostgreSQL)."""

import threading

import pytest
import sqlalchemy as sa

from crowdsource.accounts import orgs
from crowdsource.accounts.models import Organization, User
from crowdsource.db import db, transaction
from crowdsource.errors import Conflict
from tests.helpers import CREDIT_CODES, PATIENCE, wait_until

#: other threads must see what the test commits
pytestmark = pytest.mark.committing


def _a_session_waits_for_a_lock():
    """Whether some session of this database waits for a lock (on its own connection)."""
    with db.engine.connect() as connection:
        return connection.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


@pytest.mark.postgresql
def test_two_lookalike_names_registered_together_give_one_organization(app, make_user, centers):
    first_id, second_id = make_user().id, make_user().id
    center_id = centers["qingdao"].id
    db.session.commit()
    first_flushed = threading.Event()
    outcomes = {}

    def register(user_id, name, code, hold_before_commit):
        with app.test_request_context(headers={"Accept-Language": "en"}):
            try:
                with transaction():
                    user = db.session.get(User, user_id)
                    orgs.create_organization(user, name, "enterprise", None, code, center_id)
                    if hold_before_commit:
                        first_flushed.set()
                        # Commit only once the other registration waits on this one's row in
                        # the unique index: it did not see the name, which is not committed.
                        wait_until(_a_session_waits_for_a_lock, what="the second registration")
                outcomes[user_id] = "registered"
            except Conflict as error:
                outcomes[user_id] = (error.field, str(error.message))
            finally:
                db.session.remove()

    holder = threading.Thread(
        target=register, args=(first_id, "Haian Robotics", CREDIT_CODES[0], True)
    )
    holder.start()
    assert first_flushed.wait(PATIENCE), "the first registration did not flush"
    register(second_id, "ＨＡＩＡＮ  Rоbotics", CREDIT_CODES[1], False)  # a Cyrillic о
    holder.join(PATIENCE)
    assert not holder.is_alive()

    assert outcomes == {
        first_id: "registered",
        second_id: (
            "name",
            "This name cannot be told apart from that of Haian Robotics, already registered: "
            "it differs at most in case, width, spaces or letters that look alike.",
        ),
    }
    db.session.expire_all()
    assert db.session.scalars(sa.select(Organization.name)).all() == ["Haian Robotics"]
