"""Two owners leaving at the same moment: the organization still keeps one (PostgreSQL)."""

import threading
import time

import pytest

from crowdsource.accounts import authz, orgs
from crowdsource.accounts.models import Membership, Organization, Role, User
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError


@pytest.mark.postgresql
def test_two_owners_leaving_together_leave_one_owner(app, make_user, make_org):
    first, second = make_user(), make_user()
    organization = make_org(first)
    db.session.add(Membership(user=second, organization=organization, role=Role.OWNER))
    db.session.commit()
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
                        time.sleep(0.5)  # the other owner tries to leave meanwhile
                outcomes[user_id] = "left"
            except DomainError:
                outcomes[user_id] = "refused"

    holder = threading.Thread(target=leave, args=(first.id, True))
    holder.start()
    first_left.wait(5)
    leave(second.id, False)
    holder.join()
    assert outcomes == {first.id: "left", second.id: "refused"}
    db.session.expire_all()
    assert authz.is_owner(second, organization)
