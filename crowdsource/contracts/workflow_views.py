"""The workflow of a contract on its page: delivering a milestone, accepting it or asking for
changes, and cancelling the contract by mutual agreement (propose, agree, withdraw). Each step
returns to the contract's money section."""

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.contracts import bp, deliveries, services, workflow
from crowdsource.contracts.forms import DeliveryForm, ReasonForm
from crowdsource.contracts.models import Contract, Milestone
from crowdsource.db import transaction
from crowdsource.web import ConfirmForm, get_or_404


def _back(contract):
    return redirect(url_for("contracts.show", contract_id=contract.id, _anchor="money"))


def _form_or_400(form):
    if not form.validate_on_submit():
        abort(400, " ".join(str(m) for errors in form.errors.values() for m in errors))
    return form


def _milestone(milestone_id):
    milestone = get_or_404(Milestone, milestone_id)
    if not services.can_view(current_user, milestone.contract):
        abort(404)
    return milestone


@bp.post("/milestones/<int:milestone_id>/deliver")
@login_required
def deliver(milestone_id):
    milestone = _milestone(milestone_id)
    form = _form_or_400(DeliveryForm())
    with transaction():
        deliveries.deliver(current_user, milestone.id, form.note.data, form.files.data)
    flash(_("Delivered. The enterprise has been asked to review it."), "success")
    return _back(milestone.contract)


@bp.post("/milestones/<int:milestone_id>/accept")
@login_required
def accept(milestone_id):
    milestone = _milestone(milestone_id)
    _form_or_400(ConfirmForm())
    with transaction():
        workflow.accept_delivery(current_user, milestone.id)
    flash(_("Accepted. The milestone's money has been released."), "success")
    return _back(milestone.contract)


@bp.post("/milestones/<int:milestone_id>/changes")
@login_required
def request_changes(milestone_id):
    milestone = _milestone(milestone_id)
    form = _form_or_400(ReasonForm())
    with transaction():
        workflow.request_changes(current_user, milestone.id, form.reason.data)
    flash(_("Changes requested; the money stays in escrow."), "info")
    return _back(milestone.contract)


@bp.post("/contracts/<int:contract_id>/cancellation/<any(propose, confirm, withdraw):step>")
@login_required
def cancellation(contract_id, step):
    contract = get_or_404(Contract, contract_id)
    if not services.can_view(current_user, contract):
        abort(404)
    if step == "propose":
        form = _form_or_400(ReasonForm())
        with transaction():
            workflow.request_cancellation(current_user, contract, form.reason.data)
        flash(_("Cancellation proposed; the other side has been asked to agree."), "info")
    elif step == "confirm":
        _form_or_400(ConfirmForm())
        with transaction():
            workflow.confirm_cancellation(current_user, contract)
        flash(
            _("The contract is cancelled; money in escrow is refunded to the enterprise."), "info"
        )
    else:
        _form_or_400(ConfirmForm())
        with transaction():
            workflow.withdraw_cancellation(current_user, contract)
        flash(_("Your cancellation proposal has been withdrawn."), "info")
    return _back(contract)
