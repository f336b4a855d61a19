"""Two owners leaving at the same moment: the organization still keeps one (PostgreSQL)."""

import threading

import pytest
import sqlalchemy as sa

from crowdsource.accounts import authz, orgs
from crowdsource.accounts.models import Membership, Organization, Role, User
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError
from tests.helpers import PATIENCE, wait_until

#: other threads or processes must see what the test commits
pytestmark = pytest.mark.committing


def _a_session_waits_for_a_lock():
    """Whether some session of this database waits for a row lock (on its own connection)."""
    with db.engine.connect() as connection:
        return connection.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


@pytest.mark.postgresql
def test_two_owners_leaving_together_leave_one_owner(app, make_user, make_org):
    first, second = make_user(), make_user()
    organization = make_org(first)
    db.session.add(Membership(user=second, organization=organization, role=Role.OWNER))
    db.session.commit()
    first_id, second_id = first.id, second.id  # the threads read no object of this session
    first_left = threading.Event()
    outcomes = {}

    def leave(user_id, hold_before_commit):
        with app.app_context():
            try:
                with transaction():
                    user = db.session.get(User, user_id)
                    orgs.leave_organization(user, db.session.get(Organization, organization.id))
                    if hold_before_commit:
                        first_left.set()
                        # Commit only once the other owner's attempt is under way: waiting for
                        # the lock this one holds, or (were nothing locked) finished.
                        wait_until(
                            lambda: second_id in outcomes or _a_session_waits_for_a_lock(),
                            what="the second owner's attempt",
                        )
                outcomes[user_id] = "left"
            except DomainError:
                outcomes[user_id] = "refused"

    holder = threading.Thread(target=leave, args=(first_id, True))
    holder.start()
    assert first_left.wait(PATIENCE), "the first owner did not leave"
    leave(second_id, False)
    holder.join(PATIENCE)
    assert not holder.is_alive(), "the first owner's transaction is stuck"
    assert outcomes == {first_id: "left", second_id: "refused"}
    db.session.expire_all()
    assert authz.is_owner(second, organization)
