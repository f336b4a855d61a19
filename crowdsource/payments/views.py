"""Money on a contract for its parties: funding, delivery, acceptance, changes, cancellation,
payouts; statements (pages and CSV)."""

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.accounts import authz
from crowdsource.contracts import deliveries
from crowdsource.contracts import services as contracts
from crowdsource.contracts.models import Contract, Milestone
from crowdsource.db import transaction
from crowdsource.payments import bp, escrow, funding, payouts, providers, statements, stripe_api
from crowdsource.payments.forms import DeliveryForm, PayoutRequestForm, ReasonForm
from crowdsource.payments.models import Funding, Payout
from crowdsource.payments.statements import to_csv, yuan
from crowdsource.web import ConfirmForm, get_or_404


def _back(contract):
    return redirect(url_for("contracts.show", contract_id=contract.id, _anchor="money"))


def _form_or_400(form):
    if not form.validate_on_submit():
        abort(400, " ".join(str(m) for errors in form.errors.values() for m in errors))
    return form


def _milestone(milestone_id):
    milestone = get_or_404(Milestone, milestone_id)
    if not contracts.can_view(current_user, milestone.contract):
        abort(404)
    return milestone


@bp.post("/milestones/<int:milestone_id>/fund")
@login_required
def fund(milestone_id):
    milestone = _milestone(milestone_id)
    _form_or_400(ConfirmForm())
    with transaction():
        started = funding.start_funding(current_user, milestone)
    return redirect(url_for("payments.show_funding", funding_id=started.id))


@bp.get("/fundings/<int:funding_id>")
@login_required
def show_funding(funding_id):
    started = get_or_404(Funding, funding_id)
    contract = started.milestone.contract
    if escrow.side_of(current_user, contract) is None and not authz.manages_center_of(
        current_user, contract
    ):
        abort(404)
    instructions = providers.get(started.provider).instructions(started)
    return render_template(
        "payments/funding.html",
        funding=started,
        contract=contract,
        instructions=instructions,
        stripe_enabled=stripe_api.enabled(),
        confirm=ConfirmForm(),
    )


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
        escrow.accept_delivery(current_user, milestone.id)
    flash(_("Accepted. The milestone's money has been released."), "success")
    return _back(milestone.contract)


@bp.post("/milestones/<int:milestone_id>/changes")
@login_required
def request_changes(milestone_id):
    milestone = _milestone(milestone_id)
    form = _form_or_400(ReasonForm())
    with transaction():
        escrow.request_changes(current_user, milestone.id, form.reason.data)
    flash(_("Changes requested; the money stays in escrow."), "info")
    return _back(milestone.contract)


@bp.post("/contracts/<int:contract_id>/cancellation/<any(propose, confirm, withdraw):step>")
@login_required
def cancellation(contract_id, step):
    contract = get_or_404(Contract, contract_id)
    if not contracts.can_view(current_user, contract):
        abort(404)
    if step == "propose":
        form = _form_or_400(ReasonForm())
        with transaction():
            escrow.request_cancellation(current_user, contract, form.reason.data)
        flash(_("Cancellation proposed; the other side has been asked to agree."), "info")
    elif step == "confirm":
        _form_or_400(ConfirmForm())
        with transaction():
            escrow.confirm_cancellation(current_user, contract)
        flash(
            _("The contract is cancelled; money in escrow is refunded to the enterprise."), "info"
        )
    else:
        _form_or_400(ConfirmForm())
        with transaction():
            escrow.withdraw_cancellation(current_user, contract)
        flash(_("Your cancellation proposal has been withdrawn."), "info")
    return _back(contract)


@bp.post("/contracts/<int:contract_id>/payouts/<any(payee, agency, client):role>")
@login_required
def request_payout(contract_id, role):
    contract = get_or_404(Contract, contract_id)
    if not contracts.can_view(current_user, contract):
        abort(404)
    if payouts.stripe_ready(contract, role):
        _form_or_400(ConfirmForm())
        with transaction():
            payouts.request_payout(current_user, contract, role)
        flash(_("Payout requested: it is being sent to your Stripe account."), "success")
        return redirect(url_for("payments.earnings"))
    form = _form_or_400(PayoutRequestForm())
    with transaction():
        payouts.request_payout(
            current_user,
            contract,
            role,
            form.bank_account_name.data,
            form.bank_name.data,
            form.bank_account_number.data,
        )
    flash(
        _("Payout requested. A manager of the innovation center will send the transfer."), "success"
    )
    return redirect(url_for("payments.earnings"))


@bp.post("/payouts/<int:payout_id>/cancel")
@login_required
def cancel_payout(payout_id):
    payout = get_or_404(Payout, payout_id)
    _form_or_400(ConfirmForm())
    with transaction():
        payouts.cancel_payout(current_user, payout)
    flash(_("The payout request has been withdrawn."), "info")
    return redirect(url_for("payments.earnings"))


@bp.get("/earnings")
@login_required
def earnings():
    lines = statements.payables_of(current_user)
    stripe_on = stripe_api.enabled()
    stripe_targets = {}
    if stripe_on:
        from crowdsource.payments import card

        for line in lines:
            if line.role == "client":
                continue
            contract = line.contract
            owner = (
                ("user", contract.payee_user_id)
                if line.role == "payee" and contract.payee_user_id
                else (
                    "organization",
                    contract.payee_organization_id if line.role == "payee" else contract.agency_id,
                )
            )
            stripe_targets[(contract.id, line.role)] = (
                owner,
                card.payee_account(contract, line.role),
            )
    return render_template(
        "payments/earnings.html",
        lines=lines,
        stripe_targets=stripe_targets,
        form=PayoutRequestForm(),
        confirm=ConfirmForm(),
    )


@bp.get("/earnings.csv")
@login_required
def earnings_csv():
    header = [
        "contract",
        "role",
        "gross_released",
        "commission",
        "brokerage",
        "center_share",
        "earned",
        "paid_out",
        "balance",
    ]
    rows = [
        [
            line.contract.number,
            line.role,
            yuan(line.gross),
            yuan(line.commission),
            yuan(line.brokerage),
            yuan(line.center_share),
            yuan(line.earned),
            yuan(line.paid_out),
            yuan(line.balance),
        ]
        for line in statements.payables_of(current_user)
    ]
    return _csv(to_csv(header, rows), "earnings.csv")


@bp.get("/contracts/<int:contract_id>/statement.csv")
@login_required
def contract_statement_csv(contract_id):
    contract = get_or_404(Contract, contract_id)
    if not contracts.can_view(current_user, contract):
        abort(404)
    milestones, totals = statements.contract_money(contract)
    header = [
        "milestone",
        "title",
        "status",
        "amount",
        "client_fee_due",
        "due",
        "funded",
        "released",
        "refunded",
        "in_escrow",
        "payee",
        "brokerage",
        "commission",
        "client_fee",
        "center_share",
    ]
    rows = [
        [
            row.milestone.position,
            row.milestone.title,
            str(row.milestone.status),
            yuan(row.milestone.amount_fen),
            yuan(row.due - row.milestone.amount_fen),
            yuan(row.due),
            yuan(row.funded),
            yuan(row.released),
            yuan(row.refunded),
            yuan(row.in_escrow),
            yuan(row.payee),
            yuan(row.brokerage),
            yuan(row.commission),
            yuan(row.client_fee),
            yuan(row.center_share),
        ]
        for row in milestones
    ]
    rows.append(
        [
            "",
            "total",
            "",
            yuan(contract.price_fen),
            "",
            yuan(totals.due),
            yuan(totals.funded),
            yuan(totals.released),
            yuan(totals.refunded),
            yuan(totals.in_escrow),
            yuan(totals.payee),
            yuan(totals.brokerage),
            yuan(totals.commission),
            yuan(totals.client_fee),
            yuan(totals.center_share),
        ]
    )
    return _csv(to_csv(header, rows), f"{contract.number}.csv")


def _csv(text, filename):
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
