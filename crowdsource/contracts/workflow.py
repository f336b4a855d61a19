"""The work on a contract: delivery, acceptance (which releases escrow), changes requested,
cancellation by mutual agreement — and which of these steps a user may take now.

Money moves only through :mod:`crowdsource.payments.escrow` (release, refund) and the
providers (a card payment goes back to the card). Each step locks the contract's row before
its milestones' (the order escrow locks in) and checks the state under the lock.

The rules of each step are written once, as a ``*_refusal`` function that returns the error
refusing it (None: allowed); the step raises it, and :func:`allowed_actions` — what the
contract page shows buttons from — asks the same functions.
"""

import dataclasses
import datetime as dt

from flask import current_app
from flask_babel import lazy_gettext as _l

from crowdsource import audit
from crowdsource.contracts import messages
from crowdsource.contracts.models import (
    CONTRACT_MOVES,
    ESCROWED_STATES,
    MILESTONE_MOVES,
    ContractStatus,
    MilestoneStatus,
    Side,
)
from crowdsource.contracts.sides import other, require_side, side_of, tell
from crowdsource.contracts.states import state_refusal, working_refusal
from crowdsource.db import db, utcnow
from crowdsource.disputes import services as disputes
from crowdsource.errors import AlreadyDone, Conflict, DomainError, IllegalTransition, NotAllowed
from crowdsource.lifecycle import transition
from crowdsource.notifications.models import Kind
from crowdsource.payments import escrow, funding, providers
from crowdsource.tasks.models import TASK_MOVES, TaskStatus


def _refuse(refusal):
    if refusal is not None:
        raise refusal


# --- delivery, acceptance, changes -------------------------------------------------------


def delivery_refusal(actor, milestone):
    """The solver's side delivers a funded milestone of a contract in work."""
    if side_of(actor, milestone.contract) != Side.SOLVER:
        return NotAllowed()
    return state_refusal(
        milestone,
        (MilestoneStatus.FUNDED,),
        (MilestoneStatus.SUBMITTED,),
        _l("This milestone has already been delivered."),
    ) or working_refusal(milestone.contract)


def acceptance_refusal(actor, milestone):
    """The enterprise accepts a delivered milestone of a contract in work."""
    if side_of(actor, milestone.contract) != Side.CLIENT:
        return NotAllowed()
    return state_refusal(
        milestone,
        (MilestoneStatus.SUBMITTED,),
        (MilestoneStatus.RELEASED,),
        _l("This milestone has already been released."),
    ) or working_refusal(milestone.contract)


def changes_refusal(actor, milestone):
    """The enterprise sends a delivered milestone of a contract in work back."""
    if side_of(actor, milestone.contract) != Side.CLIENT:
        return NotAllowed()
    return state_refusal(milestone, (MilestoneStatus.SUBMITTED,), (), "") or working_refusal(
        milestone.contract
    )


def submit_delivery(actor, milestone_id, note, now=None):
    """The solver's side delivers a funded milestone; the enterprise has the review period to
    accept, ask for changes or dispute, after which the money is released automatically.

    Raises NotAllowed for anyone but the solver's side, DomainError for an empty note,
    AlreadyDone or Conflict for a milestone that is not funded or a contract not in work."""
    now = now or utcnow()
    milestone = escrow.lock_milestone(milestone_id)
    contract = milestone.contract
    require_side(actor, contract, Side.SOLVER)
    note = (note or "").strip()
    if not note:
        raise DomainError(_l("Describe what you deliver."), field="note")
    _refuse(delivery_refusal(actor, milestone))
    transition(milestone, MilestoneStatus.SUBMITTED, MILESTONE_MOVES, actor=actor)
    milestone.submitted_at = now
    milestone.delivery_note = note
    milestone.review_due_at = now + dt.timedelta(days=current_app.config["REVIEW_PERIOD_DAYS"])
    milestone.review_reminded_at = None
    tell(contract, Side.CLIENT, Kind.DELIVERY_SUBMITTED, milestone)
    db.session.flush()
    return milestone


def request_changes(actor, milestone_id, reason, now=None):
    """The enterprise sends a delivery back with a reason; the money stays in escrow.

    Raises NotAllowed for anyone but the enterprise, DomainError without a reason, Conflict
    for a milestone that is not delivered."""
    milestone = escrow.lock_milestone(milestone_id)
    contract = milestone.contract
    require_side(actor, contract, Side.CLIENT)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say what should change."), field="reason")
    _refuse(changes_refusal(actor, milestone))
    transition(milestone, MilestoneStatus.FUNDED, MILESTONE_MOVES, actor=actor, reason=reason)
    milestone.change_request = reason
    milestone.review_due_at = None
    tell(contract, Side.SOLVER, Kind.CHANGES_REQUESTED, milestone, reason=reason)
    db.session.flush()
    return milestone


def accept_delivery(actor, milestone_id, now=None):
    """The enterprise accepts a delivered milestone: escrow releases it to the payee, the
    agency (brokerage), the platform (commission, client fee) and the center (its share).

    Raises NotAllowed for anyone but the enterprise, AlreadyDone for a released milestone,
    Conflict for one that is not delivered."""
    now = now or utcnow()
    milestone = escrow.lock_milestone(milestone_id)
    _refuse(acceptance_refusal(actor, milestone))
    escrow.release_milestone(
        milestone, actor, now, f"{milestone.contract.number} M{milestone.position} accepted"
    )
    db.session.flush()
    return milestone


# --- cancellation by mutual agreement ----------------------------------------------------


def proposal_refusal(actor, contract):
    """A side of an active contract proposes to cancel it, unless a proposal is open."""
    if side_of(actor, contract) is None:
        return NotAllowed()
    if contract.status != ContractStatus.ACTIVE:
        return Conflict(_l("Only an active contract can be cancelled."))
    if contract.cancel_requested_by is not None:
        return AlreadyDone(_l("A cancellation has already been proposed."))
    return None


def withdrawal_refusal(actor, contract):
    """The side that proposed the cancellation of an active contract takes it back."""
    if contract.cancel_requested_by is None or side_of(actor, contract) != (
        contract.cancel_requested_by
    ):
        return NotAllowed()
    if contract.status != ContractStatus.ACTIVE:
        # Agreed to (or the contract ended): the proposal is part of its record now.
        return Conflict(_l("The contract is not active."))
    return None


def _agreement_party_refusal(actor, contract):
    side = side_of(actor, contract)
    if contract.status == ContractStatus.CANCELLED:
        return AlreadyDone(_l("The contract is already cancelled."))
    if (
        contract.cancel_requested_by is None
        or side is None
        or side == (contract.cancel_requested_by)
    ):
        return NotAllowed(_l("Only the other side can agree to the proposed cancellation."))
    return None


def _agreement_state_refusal(contract, milestones):
    if any(m.status == MilestoneStatus.DISPUTED for m in milestones):
        return Conflict(_l("A milestone is in dispute: its ruling comes first."))
    if contract.status != ContractStatus.ACTIVE:
        # Completed meanwhile (a proposal may still be open): it stays completed, as the
        # contract's state machine says.
        return IllegalTransition(
            _l(
                "This action is not possible now: it is %(current)s.",
                current=contract.status.label,
            )
        )
    return None


def agreement_refusal(actor, contract):
    """The other side agrees to the proposed cancellation of an active contract none of whose
    milestones is disputed."""
    return _agreement_party_refusal(actor, contract) or _agreement_state_refusal(
        contract, contract.milestones
    )


def request_cancellation(actor, contract, reason, now=None):
    """One side proposes to cancel the contract; the other side is asked to agree.

    Raises NotAllowed for anyone but a side, DomainError without a reason, Conflict for a
    contract that is not active, AlreadyDone when a proposal is open."""
    side = side_of(actor, contract)
    if side is None:
        raise NotAllowed()
    contract = escrow.lock_contract(contract.id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Give a reason for the cancellation."), field="reason")
    _refuse(proposal_refusal(actor, contract))
    contract.cancel_requested_by = side
    contract.cancel_requested_at = now or utcnow()
    contract.cancel_reason = reason
    audit.record("contract", contract.id, "cancellation_requested", actor, reason=reason)
    tell(contract, other(side), Kind.CANCELLATION_REQUESTED, reason=reason)
    db.session.flush()
    return contract


def withdraw_cancellation(actor, contract):
    """The side that proposed the cancellation takes the proposal back.

    Raises NotAllowed for anyone else, Conflict once the contract is no longer active."""
    contract = escrow.lock_contract(contract.id)
    _refuse(withdrawal_refusal(actor, contract))
    contract.cancel_requested_by = None
    contract.cancel_requested_at = None
    contract.cancel_reason = None
    db.session.flush()
    return contract


def confirm_cancellation(actor, contract, now=None):
    """The other side agrees: funded and delivered milestones are refunded to the enterprise
    (by the provider that took the payment: to its payable, or to its card through Stripe),
    unfunded ones cancelled, released ones stay paid; the contract is cancelled.

    Refused while a milestone is disputed (its escrow is frozen): Conflict; by anyone but the
    other side: NotAllowed; once cancelled: AlreadyDone.
    """
    now = now or utcnow()
    contract = escrow.lock_contract(contract.id)
    _refuse(_agreement_party_refusal(actor, contract))
    milestones = [
        escrow.lock_milestone(m.id) for m in sorted(contract.milestones, key=lambda m: m.id)
    ]
    _refuse(_agreement_state_refusal(contract, milestones))
    reason = contract.cancel_reason or ""
    for milestone in milestones:
        if milestone.status == MilestoneStatus.PENDING:
            transition(
                milestone, MilestoneStatus.CANCELLED, MILESTONE_MOVES, actor=actor, reason=reason
            )
        elif milestone.status in ESCROWED_STATES:
            providers.refund_escrow(milestone, actor, now, reason)
    transition(contract, ContractStatus.CANCELLED, CONTRACT_MOVES, actor=actor, reason=reason)
    contract.completed_at = now
    if contract.task.status == TaskStatus.AWARDED:
        transition(contract.task, TaskStatus.CANCELLED, TASK_MOVES, actor=actor, reason=reason)
    escrow.cancel_open_fundings(contract, actor)
    for each in (Side.CLIENT, Side.SOLVER):
        tell(contract, each, Kind.CONTRACT_CANCELLED)
    db.session.flush()
    return contract


# --- what a user may do now --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Actions:
    """The steps a user may take on a contract now: on the contract, and per milestone id."""

    contract: frozenset
    milestones: dict

    def of(self, milestone):
        return self.milestones.get(milestone.id, frozenset())


def milestone_refusals(actor, milestone):
    """Each step on the milestone with what refuses it now (None: allowed)."""
    return {
        "fund": funding.funding_refusal(actor, milestone),
        "deliver": delivery_refusal(actor, milestone),
        "accept": acceptance_refusal(actor, milestone),
        "request_changes": changes_refusal(actor, milestone),
        "dispute": disputes.opening_refusal(actor, milestone),
    }


def contract_refusals(actor, contract):
    """Each step on the contract with what refuses it now (None: allowed)."""
    return {
        "propose_cancellation": proposal_refusal(actor, contract),
        "withdraw_cancellation": withdrawal_refusal(actor, contract),
        "confirm_cancellation": agreement_refusal(actor, contract),
        "write_message": messages.writing_refusal(actor, contract),
    }


def allowed_actions(actor, contract):
    """What the user may do on the contract and each of its milestones now: exactly the steps
    the services would not refuse."""

    def allowed(refusals):
        return frozenset(name for name, refusal in refusals.items() if refusal is None)

    return Actions(
        contract=allowed(contract_refusals(actor, contract)),
        milestones={m.id: allowed(milestone_refusals(actor, m)) for m in contract.milestones},
    )


def awaiting_first_funding(contract):
    """An active contract whose first milestone is not paid yet: work has not started."""
    first = min(contract.milestones, key=lambda m: m.position, default=None)
    return (
        contract.status == ContractStatus.ACTIVE
        and first is not None
        and first.status == MilestoneStatus.PENDING
    )
