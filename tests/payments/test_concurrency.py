"""Money operations racing each other on PostgreSQL: one entry, the others a clear 409.

Each attempt runs in a thread of its own, with its own app context, session and transaction,
calling the real services (or, for the last test, the real pages); the threads wait at a
barrier and start together.
"""

import datetime as dt

import pytest
import sqlalchemy as sa

from crowdsource.contracts import workflow
from crowdsource.contracts.models import Contract, Milestone, MilestoneStatus
from crowdsource.db import db, transaction, utcnow
from crowdsource.errors import AlreadyDone, Conflict
from crowdsource.payments import escrow, ledger
from crowdsource.payments import funding as fundings
from crowdsource.payments.models import Funding, LedgerAccount, Posting
from tests.helpers import PASSWORD, together
from tests.payments.races import (  # noqa: F401  (the module's app and story)
    THREADS,
    app,
    assert_ledger_sound,
    delivered_milestone,
    entries,
    story,
    user,
)
from tests.plugin import Client

pytestmark = [pytest.mark.postgresql, pytest.mark.committing]


def test_fifty_simultaneous_acceptances_release_once(app, story):
    milestone = delivered_milestone(story)
    owner_id, milestone_id = story.owner.id, milestone.id

    def accept():
        workflow.accept_delivery(user(owner_id), milestone_id)
        return "released"

    outcomes = together(app, [accept] * THREADS)

    assert outcomes.count("released") == 1
    refused = [outcome for outcome in outcomes if outcome != "released"]
    assert all(type(error) is AlreadyDone for error in refused), {repr(error) for error in refused}
    assert {error.status_code for error in refused} == {409}
    assert {str(error.message) for error in refused} == {
        "This milestone has already been released."
    }
    assert entries("release", f"release:milestone:{milestone_id}") == 1
    assert db.session.get(Milestone, milestone_id).status == MilestoneStatus.RELEASED
    assert ledger.balance(f"escrow:milestone:{milestone_id}") == 0
    assert ledger.balance(f"payable:contract:{milestone.contract_id}:payee") == 95_000
    assert_ledger_sound()


@pytest.mark.parametrize("proposer", ["solver", "owner"])
def test_release_racing_a_refund_settles_the_milestone_once(app, story, proposer):
    """Acceptance and the other side's consent to a cancellation, at the same moment, five
    times over: the milestone is either released or refunded, never both, never neither."""
    consenter = "owner" if proposer == "solver" else "solver"
    for _ in range(5):
        milestone = delivered_milestone(story)
        contract = milestone.contract
        with transaction():
            workflow.request_cancellation(getattr(story, proposer), contract, "Plans changed")
        owner_id, consenter_id = story.owner.id, getattr(story, consenter).id
        milestone_id, contract_id = milestone.id, contract.id

        def accept(owner_id=owner_id, milestone_id=milestone_id):
            workflow.accept_delivery(user(owner_id), milestone_id)
            return "released"

        def agree(consenter_id=consenter_id, contract_id=contract_id):
            workflow.confirm_cancellation(user(consenter_id), db.session.get(Contract, contract_id))
            return "refunded"

        outcomes = together(app, [accept, agree])

        won = [outcome for outcome in outcomes if isinstance(outcome, str)]
        lost = [outcome for outcome in outcomes if not isinstance(outcome, str)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert isinstance(lost[0], Conflict), repr(lost[0])
        (state,) = won  # which one wins is up to the scheduler
        released = entries("release", f"release:milestone:{milestone_id}")
        refunded = entries("refund", f"refund:milestone:{milestone_id}")
        assert (released, refunded) == ((1, 0) if state == "released" else (0, 1))
        assert str(db.session.get(Milestone, milestone_id).status) == state
        assert ledger.balance(f"escrow:milestone:{milestone_id}") == 0
        assert_ledger_sound()


def test_simultaneous_confirmations_of_a_transfer_credit_escrow_once(app, story):
    contract = story.award()
    (milestone,) = contract.milestones
    with transaction():
        started = fundings.start_funding(story.owner, milestone)
    funding_id, milestone_id, due = started.id, milestone.id, milestone.due_fen
    manager_ids = [manager.id for manager in story.managers]

    def confirm(manager_id):
        def attempt():
            funding = db.session.get(Funding, funding_id)
            fundings.confirm_bank_transfer(user(manager_id), funding, due, "ICBC-7")
            return "confirmed"

        return attempt

    outcomes = together(app, [confirm(manager_ids[n % 2]) for n in range(10)])

    assert outcomes.count("confirmed") == 1
    refused = [outcome for outcome in outcomes if outcome != "confirmed"]
    assert all(type(error) is AlreadyDone for error in refused), {repr(error) for error in refused}
    assert {str(error.message) for error in refused} == {"This transfer has already been recorded."}
    assert entries("fund", f"fund:milestone:{milestone_id}") == 1
    credits = db.session.scalar(
        sa.select(sa.func.count(Posting.id))
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(LedgerAccount.code == f"escrow:milestone:{milestone_id}", Posting.amount > 0)
    )
    assert credits == 1
    assert ledger.balance(f"escrow:milestone:{milestone_id}") == due
    assert ledger.balance("clearing:bank") == -due
    assert_ledger_sound()


def test_the_sweep_and_acceptances_together_release_once(app, story):
    milestone = delivered_milestone(story)
    owner_id, milestone_id = story.owner.id, milestone.id
    later = utcnow() + dt.timedelta(days=app.config["REVIEW_PERIOD_DAYS"] + 1)

    def accept():
        workflow.accept_delivery(user(owner_id), milestone_id, now=later)
        return "released"

    def sweep():
        return "released" if escrow.sweep_due(later) else "nothing due"

    outcomes = together(app, [accept, sweep] * 5)

    assert outcomes.count("released") == 1, outcomes
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert all(type(error) is AlreadyDone for error in refused), outcomes
    assert entries("release", f"release:milestone:{milestone_id}") == 1
    assert_ledger_sound()


def test_two_people_accepting_through_the_pages_get_one_redirect_and_one_409(app, story):
    milestone = delivered_milestone(story)
    milestone_id = milestone.id
    app.test_client_class = Client
    browsers = []
    for person in (story.owner, story.colleague):
        browser = app.test_client()
        browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        response = browser.post("/login", data={"email": person.email, "password": PASSWORD})
        assert response.status_code == 302
        browsers.append(browser)

    outcomes = together(
        app,
        [
            lambda browser=browser: browser.post(f"/milestones/{milestone_id}/accept")
            for browser in browsers
        ],
    )

    assert sorted(response.status_code for response in outcomes) == [302, 409], outcomes
    (refused,) = [response for response in outcomes if response.status_code == 409]
    assert "This milestone has already been released." in refused.get_data(as_text=True)
    assert entries("release", f"release:milestone:{milestone_id}") == 1
    assert_ledger_sound()
