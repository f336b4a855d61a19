"""The contract page, rendered for its views: empty, or with one refused form shown again as the
user typed it, its message at the field (see errors.refused).

A refused form has a slot on the page: the delivery or the change request of one milestone, the
cancellation proposal or the message form of the contract. The page renders the slot's form with
what was typed, opened, and the other forms empty."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user
from flask_wtf import FlaskForm

from crowdsource.contracts import deliveries, messages, signing, timeline, workflow
from crowdsource.contracts.forms import DeliveryForm, MessageForm, ReasonForm
from crowdsource.contracts.sides import side_of
from crowdsource.db import db
from crowdsource.disputes.models import Dispute
from crowdsource.payments import commission, statements, transfers
from crowdsource.web import ConfirmForm


@dataclass(frozen=True)
class Typed:
    """A refused form on the contract page: its slot (the action the form takes: "deliver",
    "request_changes", "propose_cancellation", "write_message"), the milestone it belongs to
    (None for the contract's own forms) and the form as the user sent it."""

    slot: str
    form: FlaskForm
    milestone_id: int | None = None

    def at(self, slot, milestone=None):
        """This form, if it belongs in ``slot`` (of ``milestone``); else None."""
        milestone_id = milestone.id if milestone is not None else None
        if slot == self.slot and milestone_id == self.milestone_id:
            return self.form
        return None


def shows(actor, contract, typed):
    """Whether the page shows the slot of ``typed`` to ``actor`` now (it is shown exactly when
    its action is allowed): a refusal can be put at its form only then."""
    actions = workflow.allowed_actions(actor, contract)
    if typed.milestone_id is None:
        return typed.slot in actions.contract
    return typed.slot in actions.milestones.get(typed.milestone_id, frozenset())


def render(contract, status=200, typed=None, messages_page=1):
    """The contract page for the current user, under ``status``; ``typed`` (a Typed) is shown in
    its slot as the user sent it; ``messages_page``: the page of messages shown (1: the
    latest)."""
    milestones, totals = statements.contract_money(contract)
    message_pages = messages.page_of_contract(contract, messages_page)
    conversation = message_pages.items
    disputes = {
        dispute.milestone_id: dispute
        for dispute in db.session.scalars(
            sa.select(Dispute).where(Dispute.contract_id == contract.id)
        )
    }
    message_form = typed.at("write_message") if typed else None
    return render_template(
        "contracts/show.html",
        contract=contract,
        signatures=signing.check(contract),
        side=side_of(current_user, contract),
        actions=workflow.allowed_actions(current_user, contract),
        awaiting_funding=workflow.awaiting_first_funding(contract),
        milestones=milestones,
        totals=totals,
        split=commission.split_each([m.amount_fen for m in contract.milestones], contract.rates),
        delivery_form=DeliveryForm(formdata=None),
        reason_form=ReasonForm(formdata=None),
        message_form=message_form or MessageForm(formdata=None),
        typed=typed,
        confirm=ConfirmForm(),
        deliveries=deliveries.by_milestone(contract),
        messages=conversation,
        message_pages=message_pages,
        trail=timeline.of_contract(
            contract, conversation, [dispute.id for dispute in disputes.values()]
        ),
        disputes=disputes,
        transfers=transfers.of_contract(contract),
    ), status
