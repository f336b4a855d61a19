"""The contract page shows exactly the steps the services accept, for each role and state.

The page's buttons come from one place (crowdsource.contracts.workflow.allowed_actions); these
tests hold the page to the services through the real pages: every button shown is a step that,
posted, changes the contract; every step not shown, posted anyway, is refused and changes
nothing.
"""

import re
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from crowdsource.contracts import workflow
from crowdsource.contracts.models import Contract, ContractMessage
from crowdsource.db import db, transaction
from crowdsource.disputes import services as disputes
from crowdsource.disputes.models import Dispute
from crowdsource.payments.models import Funding
from tests.payments.support import accept, deliver, fund

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")


def _funded(people, award):
    contract = award()
    fund(contract.milestones[0], people.owner, people.managers["qingdao"])
    return contract


def _delivered(people, award):
    contract = _funded(people, award)
    deliver(people.solver, contract.milestones[0])
    return contract


def _disputed(people, award):
    contract = _delivered(people, award)
    with transaction():
        disputes.open_dispute(people.owner, contract.milestones[0].id, "Not what we ordered.")
    return contract


def _proposed(people, award):
    contract = _funded(people, award)
    with transaction():
        workflow.request_cancellation(people.owner, contract, "We changed our plans.")
    return contract


def _completed(people, award):
    contract = award(amounts=(500_000,))
    fund(contract.milestones[0], people.owner, people.managers["qingdao"])
    deliver(people.solver, contract.milestones[0])
    accept(people.owner, contract.milestones[0])
    return contract


def _cancelled(people, award):
    contract = _proposed(people, award)
    with transaction():
        workflow.confirm_cancellation(people.solver, contract)
    return contract


STATES = {
    "unfunded": lambda people, award: award(),
    "funded": _funded,
    "delivered": _delivered,
    "disputed": _disputed,
    "cancellation proposed": _proposed,
    "completed": _completed,
    "cancelled": _cancelled,
}

ROLES = {
    "enterprise": lambda people: people.owner,
    "solver": lambda people: people.solver,
    "manager": lambda people: people.managers["qingdao"],
}

#: how each step is posted: (path pattern, form data); {m} is a milestone's id, {c} the
#: contract's
STEPS = {
    "fund": ("/milestones/{m}/fund", {}),
    "deliver": ("/milestones/{m}/deliver", {"note": "The drawings are attached."}),
    "accept": ("/milestones/{m}/accept", {}),
    "request_changes": ("/milestones/{m}/changes", {"reason": "The tolerances are off."}),
    "dispute": ("/milestones/{m}/dispute", {"reason": "The work was never delivered."}),
    "propose_cancellation": ("/contracts/{c}/cancellation/propose", {"reason": "No budget."}),
    "withdraw_cancellation": ("/contracts/{c}/cancellation/withdraw", {}),
    "confirm_cancellation": ("/contracts/{c}/cancellation/confirm", {}),
    "write_message": ("/contracts/{c}/messages", {"body": "When can we meet?"}),
}


def _candidates(contract):
    """Every step on the contract and its milestones, as (step, milestone id or None)."""
    steps = []
    for name, (pattern, _data) in STEPS.items():
        if "{m}" in pattern:
            steps += [(name, milestone.id) for milestone in contract.milestones]
        else:
            steps.append((name, None))
    return steps


def _path(step, contract):
    name, milestone_id = step
    return STEPS[name][0].format(m=milestone_id, c=contract.id)


def _shown(html, contract):
    """The steps the page offers: a form posting to a step's path, or a link to it."""
    targets = set(re.findall(r'(?:action|href)="([^"#?]+)', html))
    return {step for step in _candidates(contract) if _path(step, contract) in targets}


def _snapshot(contract_id):
    """What any step changes: the contract's and milestones' states, the proposal, the
    fundings, disputes and messages."""
    db.session.expire_all()
    contract = db.session.get(Contract, contract_id)
    ids = [milestone.id for milestone in contract.milestones]

    def count(model, condition):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(condition))

    return (
        contract.status,
        contract.cancel_requested_by,
        tuple(milestone.status for milestone in contract.milestones),
        count(Funding, Funding.milestone_id.in_(ids)),
        count(Dispute, Dispute.contract_id == contract_id),
        count(ContractMessage, ContractMessage.contract_id == contract_id),
    )


@contextmanager
def undone():
    """What the block stores (the requests' commits too) is rolled back at its end: a
    savepoint of the test's connection, around the savepoints of the requests' sessions."""
    db.session.commit()  # nothing of the test's session inside the savepoint
    savepoint = db.session.get_bind().begin_nested()
    try:
        yield
    finally:
        db.session.commit()
        savepoint.rollback()
        db.session.expire_all()


def _post(client, step, contract):
    return client.post(_path(step, contract), data=dict(STEPS[step[0]][1]))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("state", STATES)
def test_the_page_offers_exactly_the_steps_the_services_accept(
    state, role, people, award, client, login, uploads
):
    build, user = STATES[state], ROLES[role](people)
    contract = build(people, award)
    login(user)
    page = client.get(f"/contracts/{contract.id}")
    assert page.status_code == 200
    shown = _shown(page.get_data(as_text=True), contract)

    # The page and the predicate are one rule.
    actions = workflow.allowed_actions(user, db.session.get(Contract, contract.id))
    predicted = {(name, None) for name in actions.contract} | {
        (name, milestone_id) for milestone_id, names in actions.milestones.items() for name in names
    }
    assert shown == predicted

    # Every step not shown is refused, and changes nothing.
    before = _snapshot(contract.id)
    for step in sorted(set(_candidates(contract)) - shown, key=str):
        _post(client, step, contract)
        assert _snapshot(contract.id) == before, f"{step} was not shown but was accepted"
    # Refused for good: the page still does not offer them.
    again = client.get(f"/contracts/{contract.id}")
    assert _shown(again.get_data(as_text=True), contract) == shown

    # Every step shown is accepted (each from the state the page was shown in: what the step
    # stored is undone before the next).
    for step in sorted(shown, key=str):
        with undone():
            before = _snapshot(contract.id)
            _post(client, step, contract)
            assert _snapshot(contract.id) != before, f"{step} was shown but refused"


def test_a_manager_is_offered_no_step(people, award, client, login):
    """A manager of the center reads the contract and may act on none of its steps."""
    contract = _delivered(people, award)
    login(people.managers["qingdao"])
    page = client.get(f"/contracts/{contract.id}")
    assert page.status_code == 200 and _shown(page.get_data(as_text=True), contract) == set()
