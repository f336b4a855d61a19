"""The workflow of a contract on its page: delivering a milestone, accepting it or asking for
changes, and cancelling the contract by mutual agreement (propose, agree, withdraw). Each step
returns to the contract's money section; a refused form with typed input (a delivery note, a
reason) comes back on the contract page as typed, the message at its field."""

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.contracts import bp, deliveries, page, services, workflow
from crowdsource.contracts.forms import DeliveryForm, ReasonForm
from crowdsource.contracts.models import Contract, Milestone
from crowdsource.db import transaction
from crowdsource.errors import DomainError, refused
from crowdsource.web import ConfirmForm, get_or_404, require_valid


def _back(contract):
    return redirect(url_for("contracts.show", contract_id=contract.id, _anchor="money"))


def _typed_step(contract, typed, step, message, category):
    """Run ``step`` (a function of the typed form) for a form with typed input. A form that does
    not validate, or whose step is refused while its slot is on the page, is shown again on the
    contract page as typed; a refusal of a step the page no longer offers is an error page."""
    if not typed.form.validate_on_submit():
        if not page.shows(current_user, contract, typed):
            require_valid(typed.form)  # nowhere to show the form: its messages on an error page
        return page.render(contract, 400, typed)
    try:
        with transaction():
            step(typed.form)
    except DomainError as error:
        if not page.shows(current_user, contract, typed):
            raise
        return page.render(contract, refused(typed.form, error), typed)
    flash(message, category)
    return _back(contract)


def _milestone(milestone_id):
    milestone = get_or_404(Milestone, milestone_id)
    if not services.can_view(current_user, milestone.contract):
        abort(404)
    return milestone


@bp.post("/milestones/<int:milestone_id>/deliver")
@login_required
def deliver(milestone_id):
    milestone = _milestone(milestone_id)
    return _typed_step(
        milestone.contract,
        page.Typed("deliver", DeliveryForm(), milestone.id),
        lambda form: deliveries.deliver(
            current_user, milestone.id, form.note.data, form.files.data
        ),
        _("Delivered. The enterprise has been asked to review it."),
        "success",
    )


@bp.post("/milestones/<int:milestone_id>/accept")
@login_required
def accept(milestone_id):
    milestone = _milestone(milestone_id)
    require_valid(ConfirmForm())
    with transaction():
        workflow.accept_delivery(current_user, milestone.id)
    flash(_("Accepted. The milestone's money has been released."), "success")
    return _back(milestone.contract)


@bp.post("/milestones/<int:milestone_id>/changes")
@login_required
def request_changes(milestone_id):
    milestone = _milestone(milestone_id)
    return _typed_step(
        milestone.contract,
        page.Typed("request_changes", ReasonForm(), milestone.id),
        lambda form: workflow.request_changes(current_user, milestone.id, form.reason.data),
        _("Changes requested; the money stays in escrow."),
        "info",
    )


@bp.post("/contracts/<int:contract_id>/cancellation/<any(propose, confirm, withdraw):step>")
@login_required
def cancellation(contract_id, step):
    contract = get_or_404(Contract, contract_id)
    if not services.can_view(current_user, contract):
        abort(404)
    if step == "propose":
        return _typed_step(
            contract,
            page.Typed("propose_cancellation", ReasonForm()),
            lambda form: workflow.request_cancellation(current_user, contract, form.reason.data),
            _("Cancellation proposed; the other side has been asked to agree."),
            "info",
        )
    require_valid(ConfirmForm())
    if step == "confirm":
        with transaction():
            workflow.confirm_cancellation(current_user, contract)
        flash(
            _("The contract is cancelled; money in escrow is refunded to the enterprise."), "info"
        )
    else:
        with transaction():
            workflow.withdraw_cancellation(current_user, contract)
        flash(_("Your cancellation proposal has been withdrawn."), "info")
    return _back(contract)
