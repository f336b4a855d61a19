"""transaction() and after_commit(): side effects happen once the outermost commit succeeded."""

import pytest

from crowdsource.accounts.models import User
from crowdsource.db import after_commit, transaction


class Refused(Exception):
    pass


def test_a_callback_registered_before_a_savepoint_is_dropped_when_the_transaction_rolls_back(
    db, make_user
):
    user = make_user()
    effects = []
    with pytest.raises(Refused), transaction():
        after_commit(effects.append, "mail sent")
        with db.session.begin_nested():  # e.g. ledger.post's savepoint, released
            db.session.get(User, user.id).display_name = "Renamed"
        raise Refused()
    with transaction():
        pass  # the next successful transaction must not run the dropped callback
    assert effects == []
    assert db.session.get(User, user.id).display_name != "Renamed"


def test_a_callback_runs_once_after_the_outermost_commit(db, make_user):
    user = make_user()
    effects = []
    with transaction():
        after_commit(effects.append, "mail sent")
        with db.session.begin_nested():
            db.session.get(User, user.id).display_name = "Renamed"
        assert effects == []  # not at the savepoint's release
    with transaction():
        pass
    assert effects == ["mail sent"]
