"""A contract's history as people read it: the audit trail of the contract, its milestones and
its disputes, and the messages written on it, each as (time, who, what) in the reader's
language. The contract page and a dispute's case page read from here."""

import re

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from crowdsource import audit
from crowdsource.contracts.models import ContractStatus, MilestoneStatus
from crowdsource.disputes.models import DisputeStatus

#: the state machines whose moves are shown with their labels
STATES = {"contract": ContractStatus, "milestone": MilestoneStatus, "dispute": DisputeStatus}


def N_(text):
    """Mark ``text`` for the catalogs; it is translated where it is shown."""
    return text


#: reasons the platform writes into the audit trail (in English; older rows in the language of
#: the person who acted), shown in the reader's language
FIXED_REASONS = (
    N_("another bid won"),
    N_("contract cancelled"),
    N_("no response within the response period"),
    N_("both parties accepted the ruling"),
    N_("ruled on appeal"),
    N_("the appeal window passed"),
    N_("the Stripe account cannot receive payouts"),
    N_("the enterprise"),
    N_("the solver's side"),
)

#: the ledger's descriptions of a milestone's money ("CS-2026-000123 M1 accepted", "bank
#: transfer ICBC-0001 (CS2026000123M1AB12)"), used as the reason of its move: what they say,
#: in the reader's language, without the numbers the line already names
LEDGER_REASONS = (
    (re.compile(r"CS-\d{4}-\d+ M\d+ accepted"), N_("delivery accepted")),
    (re.compile(r"CS-\d{4}-\d+ M\d+ funded"), N_("paid into escrow")),
    (
        re.compile(r"CS-\d{4}-\d+ M\d+ released automatically after the review period"),
        N_("released automatically after the review period"),
    ),
    (re.compile(r"CS-\d{4}-\d+ M\d+ dispute \d+: .*"), N_("settled by the dispute's ruling")),
    (
        re.compile(r"bank transfer (?P<reference>.*) \((?P<code>[^()]*)\)"),
        N_("bank transfer %(reference)s (transfer code %(code)s)"),
    ),
    (re.compile(r"card payment (?P<reference>\S+)"), N_("card payment %(reference)s")),
)

#: a fixed reason by its stored text, in any language of the app: its message id
_fixed_by_text = {}


def reason_text(reason):
    """A stored reason as the reader reads it: one the platform wrote, translated; what a
    person typed (a change request, a cancellation reason), as typed."""
    for pattern, message in LEDGER_REASONS:
        if found := pattern.fullmatch(reason):
            return _(message, **found.groupdict())
    if not _fixed_by_text:
        for language in current_app.config["LANGUAGES"]:
            with force_locale(language):
                _fixed_by_text.update({_(message): message for message in FIXED_REASONS})
        _fixed_by_text.update({message: message for message in FIXED_REASONS})
    message = _fixed_by_text.get(reason)
    return _(message) if message is not None else reason


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
        what = f"{what} ({reason_text(event.reason)})"
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
