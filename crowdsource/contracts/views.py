"""The contract page and the list of a user's contracts."""

import sqlalchemy as sa
from flask import abort, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource import audit
from crowdsource.accounts import authz
from crowdsource.contracts import bp, services
from crowdsource.contracts.models import Contract, ContractStatus, MilestoneStatus
from crowdsource.db import db
from crowdsource.payments import commission, escrow, statements
from crowdsource.payments.forms import DeliveryForm, ReasonForm
from crowdsource.web import ConfirmForm, get_or_404


@bp.get("/contracts/<int:contract_id>")
@login_required
def show(contract_id):
    contract = get_or_404(Contract, contract_id)
    if not services.can_view(current_user, contract):
        abort(404)
    milestones, totals = statements.contract_money(contract)
    return render_template(
        "contracts/show.html",
        contract=contract,
        side=escrow.side_of(current_user, contract),
        milestones=milestones,
        totals=totals,
        split=commission.split_each([m.amount_fen for m in contract.milestones], contract.rates),
        delivery_form=DeliveryForm(),
        reason_form=ReasonForm(),
        confirm=ConfirmForm(),
        trail=[
            _describe(event, contract)
            for event in audit.events_of(
                [("contract", contract.id)] + [("milestone", m.id) for m in contract.milestones]
            )
        ],
        # milestones are paid in order: only the first unpaid one can be paid now
        next_to_fund=next(
            (row.milestone.id for row in milestones if row.milestone.status == "pending"), None
        ),
    )


@bp.get("/contracts")
@login_required
def mine():
    organizations = authz.organization_ids_of(current_user)
    condition = sa.or_(
        Contract.solver_id == current_user.id,
        Contract.payee_user_id == current_user.id,
        Contract.client_organization_id.in_(organizations),
        Contract.agency_id.in_(organizations),
        Contract.payee_organization_id.in_(organizations),
    )
    contracts = db.session.scalars(
        sa.select(Contract)
        .where(condition)
        .options(sa.orm.joinedload(Contract.task), sa.orm.joinedload(Contract.client_organization))
        .order_by(Contract.signed_at.desc())
    ).all()
    return render_template("contracts/mine.html", contracts=contracts)


def _describe(event, contract):
    """An audit event as the contract's history shows it: (time, who, what)."""
    labels = {"contract": ContractStatus, "milestone": MilestoneStatus}
    what = event.action
    if event.subject == "milestone":
        position = next(m.position for m in contract.milestones if m.id == event.subject_id)
        subject = _("Milestone %(position)d", position=position)
    else:
        subject = _("Contract")
    if event.action == "status" and event.subject in labels:
        states = labels[event.subject]
        what = f"{states(event.from_state).label} → {states(event.to_state).label}"
    elif event.action == "cancellation_requested":
        what = _("cancellation proposed")
    if event.reason:
        what = f"{what} ({event.reason})"
    who = event.actor.display_name if event.actor else _("the platform")
    return event.created_at, who, f"{subject}: {what}"
