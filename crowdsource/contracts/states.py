"""The states a step on a contract needs, and the contract's own end: checks that say why a
milestone or contract is not in the state a step needs (escrow's money steps and the contracts
workflow use the same ones), and completing or resuming the contract once its milestones are
settled.

Each check comes twice: ``*_refusal`` returns the error that refuses the step (None: the state
allows it), for the predicates the contract page shows buttons from; ``require_*`` raises it.
"""

from flask_babel import lazy_gettext as _l

from crowdsource.contracts.models import (
    CONTRACT_MOVES,
    SETTLED_STATES,
    ContractStatus,
    MilestoneStatus,
)
from crowdsource.errors import AlreadyDone, Conflict
from crowdsource.lifecycle import transition
from crowdsource.tasks.models import TASK_MOVES, TaskStatus

#: the contract states in which work on milestones goes on
WORKING_STATES = (ContractStatus.ACTIVE, ContractStatus.IN_DISPUTE)


def state_refusal(milestone, allowed, done_states, done_message):
    """AlreadyDone when the milestone is past the step already (``done_states``), Conflict
    when it is in another state than ``allowed``, else None."""
    if milestone.status in done_states:
        return AlreadyDone(done_message)
    if milestone.status not in allowed:
        return Conflict(
            _l(
                "Not possible while the milestone is %(state)s.",
                state=milestone.status.label,
            )
        )
    return None


def require_state(milestone, allowed, done_states, done_message):
    refusal = state_refusal(milestone, allowed, done_states, done_message)
    if refusal is not None:
        raise refusal


def working_refusal(contract):
    """Work on milestones goes on while the contract is active (or has a dispute)."""
    if contract.status not in WORKING_STATES:
        return Conflict(_l("The contract is not active."))
    return None


def require_working(contract):
    refusal = working_refusal(contract)
    if refusal is not None:
        raise refusal


def settle_contract(contract, actor, now):
    """Complete the contract (and its task) once every milestone is settled."""
    if contract.status != ContractStatus.ACTIVE:
        return
    if all(milestone.status in SETTLED_STATES for milestone in contract.milestones):
        transition(contract, ContractStatus.COMPLETED, CONTRACT_MOVES, actor=actor)
        contract.completed_at = now
        if contract.task.status == TaskStatus.AWARDED:
            transition(contract.task, TaskStatus.COMPLETED, TASK_MOVES, actor=actor)


def resume_contract(contract, actor, now):
    """After a dispute ends: the contract is active again (or completed, when every milestone
    is settled) unless another milestone is still disputed."""
    if contract.status != ContractStatus.IN_DISPUTE:
        return
    if any(m.status == MilestoneStatus.DISPUTED for m in contract.milestones):
        return
    if all(m.status in SETTLED_STATES for m in contract.milestones):
        transition(contract, ContractStatus.COMPLETED, CONTRACT_MOVES, actor=actor)
        contract.completed_at = now
        if contract.task.status == TaskStatus.AWARDED:
            transition(contract.task, TaskStatus.COMPLETED, TASK_MOVES, actor=actor)
    else:
        transition(contract, ContractStatus.ACTIVE, CONTRACT_MOVES, actor=actor)
