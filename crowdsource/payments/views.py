"""Money on a contract for its parties: funding, payouts; statements (pages and CSV). Delivery,
acceptance, changes and cancellation are the contracts workflow's (contracts/workflow_views.py)."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.accounts import authz
from crowdsource.contracts import services as contracts
from crowdsource.contracts import sides
from crowdsource.contracts.models import Contract, Milestone
from crowdsource.db import transaction
from crowdsource.errors import DomainError, refused
from crowdsource.payments import (
    bp,
    card,
    funding,
    funding_page,
    payee_details,
    payouts,
    statements,
    stripe_api,
)
from crowdsource.payments.forms import PayoutRequestForm
from crowdsource.payments.models import Funding, Payout
from crowdsource.payments.statements import to_csv, yuan
from crowdsource.web import ConfirmForm, QueryArguments, csv_download, get_or_404, require_valid


def _back(contract):
    return redirect(url_for("contracts.show", contract_id=contract.id, _anchor="money"))


def _milestone(milestone_id):
    milestone = get_or_404(Milestone, milestone_id)
    if not contracts.can_view(current_user, milestone.contract):
        abort(404)
    return milestone


@bp.post("/milestones/<int:milestone_id>/fund")
@login_required
def fund(milestone_id):
    milestone = _milestone(milestone_id)
    require_valid(ConfirmForm())
    with transaction():
        started = funding.start_funding(current_user, milestone)
    return redirect(url_for("payments.show_funding", funding_id=started.id))


@bp.get("/fundings/<int:funding_id>")
@login_required
def show_funding(funding_id):
    started = get_or_404(Funding, funding_id)
    contract = started.milestone.contract
    if sides.side_of(current_user, contract) is None and not authz.manages_center_of(
        current_user, contract
    ):
        abort(404)
    # where Stripe's Checkout sent the payer back to (stripe_views.fund_by_card)
    query = QueryArguments()
    card_paid = query.choice("card", ["paid", "cancelled"]) == "paid"
    return funding_page.render(started, query.status, card_paid=card_paid)


@bp.post("/contracts/<int:contract_id>/payouts/<any(payee, agency, client):role>")
@login_required
def request_payout(contract_id, role):
    contract = get_or_404(Contract, contract_id)
    if not contracts.can_view(current_user, contract):
        abort(404)
    if payouts.stripe_ready(contract, role):
        require_valid(ConfirmForm())
        with transaction():
            payouts.request_payout(current_user, contract, role)
        flash(_("Payout requested: it is being sent to your Stripe account."), "success")
        return redirect(url_for("payments.earnings"))
    form = PayoutRequestForm()
    if not form.validate_on_submit():
        return _earnings_page(400, form, (contract.id, role))
    try:
        with transaction():
            payouts.request_payout(
                current_user,
                contract,
                role,
                form.bank_account_name.data,
                form.bank_name.data,
                form.bank_account_number.data,
                details_id=form.details_id.data,
            )
    except DomainError as error:
        if error.field not in form:
            raise  # the request itself is refused (nothing to pay, already asked): no form
        return _earnings_page(refused(form, error), form, (contract.id, role))
    flash(
        _("Payout requested. A manager of the innovation center will send the transfer."), "success"
    )
    return redirect(url_for("payments.earnings"))


@bp.post("/payouts/<int:payout_id>/cancel")
@login_required
def cancel_payout(payout_id):
    payout = get_or_404(Payout, payout_id)
    require_valid(ConfirmForm())
    with transaction():
        payouts.cancel_payout(current_user, payout)
    flash(_("The payout request has been withdrawn."), "info")
    return redirect(url_for("payments.earnings"))


@bp.get("/earnings")
@login_required
def earnings():
    return _earnings_page()


def _earnings_page(status=200, typed=None, typed_for=None):
    """The user's earnings; ``typed`` (a refused payout request, as typed) is shown on the line
    ``typed_for`` (contract id, role)."""
    lines = statements.payables_of(current_user)
    stripe_on = stripe_api.enabled()
    stripe_targets = {}
    if stripe_on:
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
        # a payable whose payee is not verified offers no payout, but says why
        refusals={
            (line.contract.id, line.role): payouts.payout_refusal(line.contract, line.role)
            for line in lines
        },
        stripe_targets=stripe_targets,
        # the payee's saved accounts to choose from, masked (only its own side sees them)
        saved_details=_saved_details(lines),
        form=PayoutRequestForm(formdata=None),
        typed=typed,
        typed_for=typed_for,
        confirm=ConfirmForm(),
    ), status


def _saved_details(lines):
    """(payee if the user manages its accounts else None, its saved accounts) by (contract id,
    role) of the lines whose payee the user may choose accounts of; shown masked."""
    found = {}
    for line in lines:
        owner = payouts.payee_of(line.contract, line.role)
        if payee_details.may_choose(current_user, owner):
            # the page to manage them is linked only for those who may manage them
            manager = owner if payee_details.may_manage(current_user, owner) else None
            found[(line.contract.id, line.role)] = (manager, payee_details.details_of(owner))
    return found


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
    return csv_download(to_csv(header, rows), "earnings.csv")


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
    return csv_download(to_csv(header, rows), f"{contract.number}.csv")
