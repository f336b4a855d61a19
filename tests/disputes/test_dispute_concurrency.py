"""Disputes racing other steps on PostgreSQL (row locks): exactly one of them happens, the
others get a clear conflict, and the ledger stays sound."""

import pytest
import sqlalchemy as sa

from crowdsource.contracts import workflow
from crowdsource.contracts.models import Milestone
from crowdsource.db import db, transaction
from crowdsource.disputes import services
from crowdsource.disputes.models import Dispute, Ruling
from crowdsource.errors import Conflict, DomainError
from crowdsource.payments.models import JournalEntry
from tests.helpers import together
from tests.payments.races import (  # noqa: F401  (the module's app and story)
    app,
    assert_ledger_sound,
    delivered_milestone,
    story,
    user,
)

pytestmark = [pytest.mark.postgresql, pytest.mark.committing]


def count(model, **where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**where))


@pytest.mark.parametrize("rounds", range(3))
def test_a_dispute_opened_while_the_enterprise_accepts_leaves_exactly_one_outcome(
    app, story, rounds
):
    milestone = delivered_milestone(story)
    owner_id, solver_id, milestone_id = story.owner.id, story.solver.id, milestone.id

    outcomes = together(
        app,
        [
            lambda: workflow.accept_delivery(user(owner_id), milestone_id),
            lambda: services.open_dispute(user(solver_id), milestone_id, "Accepted too late?"),
        ],
    )

    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], Conflict), outcomes
    state = str(db.session.get(Milestone, milestone_id).status)
    released = db.session.scalar(
        sa.select(sa.func.count(JournalEntry.id)).filter_by(
            idempotency_key=f"release:milestone:{milestone_id}"
        )
    )
    disputes = count(Dispute, milestone_id=milestone_id)
    assert (state, released, disputes) in (("released", 1, 0), ("disputed", 0, 1))
    assert_ledger_sound()


def test_two_managers_ruling_at_once_make_one_ruling(app, story):
    milestone = delivered_milestone(story)
    with transaction():
        dispute = services.open_dispute(story.owner, milestone.id, "Half of it is missing.")
    with transaction():
        services.respond(story.solver, dispute.id, "All of it is there.")
    first, second = story.managers
    with transaction():
        services.take(first, dispute.id)
    due, case, first_id, second_id = milestone.due_fen, dispute.id, first.id, second.id
    # The one who took the case double-submits; the other tries to rule (and take) too.
    attempts = [
        lambda: services.rule(user(first_id), case, due, 0, "All delivered."),
        lambda: services.rule(user(first_id), case, due // 2, due - due // 2, "Half."),
        lambda: services.take(user(second_id), case),
        lambda: services.rule(user(second_id), case, 0, due, "None delivered."),
    ]
    outcomes = together(app, attempts)

    assert sum(not isinstance(o, Exception) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, DomainError) for o in outcomes if isinstance(o, Exception))
    (ruling,) = db.session.scalars(sa.select(Ruling).filter_by(dispute_id=case)).all()
    assert ruling.manager_id == first_id
    assert str(db.session.get(Dispute, case).status) == "ruled"
    assert_ledger_sound()


def test_simultaneous_waivers_and_the_sweep_move_the_money_once(app, story):
    import datetime as dt

    from crowdsource.db import utcnow
    from crowdsource.disputes.services import sweep_due

    milestone = delivered_milestone(story)
    with transaction():
        dispute = services.open_dispute(story.owner, milestone.id, "Half of it is missing.")
    with transaction():
        services.respond(story.solver, dispute.id, "All of it is there.")
    manager = story.managers[0]
    with transaction():
        services.take(manager, dispute.id)
    due = milestone.due_fen
    with transaction():
        services.rule(manager, dispute.id, due // 2, due - due // 2, "Half.")
    later = utcnow() + dt.timedelta(days=8)
    owner_id, solver_id, case = story.owner.id, story.solver.id, dispute.id

    together(
        app,
        [
            lambda: services.waive_appeal(user(owner_id), case),
            lambda: services.waive_appeal(user(solver_id), case),
            lambda: sweep_due(later),
            lambda: sweep_due(later),
        ],
    )
    with transaction():
        sweep_due(later)  # whatever the threads left
    assert str(db.session.get(Dispute, case).status) == "final"
    assert (
        db.session.scalar(
            sa.select(sa.func.count(JournalEntry.id)).filter_by(
                idempotency_key=f"ruling:milestone:{milestone.id}"
            )
        )
        == 1
    )
    assert str(db.session.get(Milestone, milestone.id).status) == "split"
    assert_ledger_sound()
