"""A contract's history as people read it: the audit trail of the contract, its milestones and
its disputes, and the messages written on it, each as (time, who, what) in the reader's
language. The contract page and a dispute's case page read from here."""

from flask_babel import gettext as _

from crowdsource import audit
from crowdsource.contracts.models import ContractStatus, MilestoneStatus
from crowdsource.disputes.models import DisputeStatus

#: the state machines whose moves are shown with their labels
STATES = {"contract": ContractStatus, "milestone": MilestoneStatus, "dispute": DisputeStatus}


def describe(event, contract):
    """One audit event of ``contract`` (or of its milestones or disputes): (time, who, what)."""
    steps = {
        "cancellation_requested": _("cancellation proposed"),
        "taken": _("taken by a manager"),
        "appeal_waived": _("ruling accepted"),
    }
    what = steps.get(event.action, event.action)
    if event.subject == "milestone":
        position = next(m.position for m in contract.milestones if m.id == event.subject_id)
        subject = _("Milestone %(position)d", position=position)
    elif event.subject == "dispute":
        subject = _("Dispute")
    else:
        subject = _("Contract")
    if event.action == "status" and event.subject in STATES:
        states = STATES[event.subject]
        before = states(event.from_state).label if event.from_state else ""
        what = f"{before} → {states(event.to_state).label}".strip()
    if event.reason:
        what = f"{what} ({event.reason})"
    # No actor: the system moved it (see crowdsource.lifecycle: every move names its actor).
    who = event.actor.display_name if event.actor else _("the platform (automatic)")
    return event.created_at, who, f"{subject}: {what}"


def of_subjects(contract, subjects):
    """The described audit events of ``subjects`` ((subject, id) pairs of ``contract``)."""
    return [describe(event, contract) for event in audit.events_of(subjects)]


def of_contract(contract, conversation, dispute_ids):
    """Every event of the contract, oldest first: the audit trail of the contract, its
    milestones and its disputes, and the messages written on it."""
    events = of_subjects(
        contract,
        [("contract", contract.id)]
        + [("milestone", m.id) for m in contract.milestones]
        + [("dispute", dispute_id) for dispute_id in dispute_ids],
    )
    events += [
        (message.created_at, message.author.display_name, _("Message on the contract"))
        for message in conversation
    ]
    return sorted(events, key=lambda event: event[0])
