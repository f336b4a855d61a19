"""Two accounts giving the same resident ID number at the same moment (PostgreSQL): the
database keeps one live request per number, the other account is told so."""

import pytest
import sqlalchemy as sa

from crowdsource.accounts import verification
from crowdsource.accounts.models import User, Verification
from crowdsource.db import db
from crowdsource.errors import Conflict
from tests.helpers import together

#: other threads must see what the test commits; row locks and unique indexes as in production
pytestmark = [pytest.mark.postgresql, pytest.mark.committing]


@pytest.mark.parametrize("rounds", range(3))
def test_one_number_given_by_two_accounts_at_once_makes_one_request(
    app, make_user, centers, rounds
):
    first = make_user(real_name_verified=False)
    second = make_user(real_name_verified=False)
    ids, center_id = (first.id, second.id), centers["qingdao"].id

    def apply(user_id):
        return lambda: verification.apply_as_person(
            db.session.get(User, user_id), "赵敏", "11010519491231002X", center_id
        )

    outcomes = together(app, [apply(user_id) for user_id in ids])

    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], Conflict), outcomes
    assert "another account" in str(failures[0])
    requests = db.session.scalars(sa.select(Verification)).all()
    assert [r.applicant_id for r in requests] == [
        next(i for i, o in zip(ids, outcomes, strict=True) if not isinstance(o, Exception))
    ]
