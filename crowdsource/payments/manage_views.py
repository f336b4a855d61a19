"""Pages of the center managers and the admin: transfers to confirm, payouts to send,
commission policies, platform revenue."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from crowdsource.accounts import authz, centers
from crowdsource.accounts.models import Center
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError, refused
from crowdsource.payments import bp, payouts, policy, statements, transfers
from crowdsource.payments.forms import (
    ConfirmTransferForm,
    PolicyForm,
    RejectReportForm,
    SendPayoutForm,
)
from crowdsource.payments.models import CommissionPolicy, Funding, Payout, TransferReport
from crowdsource.payments.statements import to_csv, yuan
from crowdsource.web import ConfirmForm, QueryArguments, csv_download, get_or_404, require_valid


def _require_manager():
    if not (current_user.is_admin or authz.managed_centers(current_user)):
        abort(403)


@bp.get("/manage/payments")
@login_required
def manage():
    _require_manager()
    return _manage_page()


def _manage_page(refused_form=None, refused_id=None, refused_payout=None, refused_report=None):
    """The managers' page; a refused form (the confirmation of transfer ``refused_id``, the
    rejection of the report of transfer ``refused_report``, or the payout ``refused_payout``
    sent) is shown again as typed at its row, or, if that row is gone meanwhile, its message
    at the top of its list."""
    to_send = payouts.payouts_to_send(current_user)
    rows = transfers.queue(current_user)
    return render_template(
        "payments/manage.html",
        transfer_rows=rows,
        transfers=[row[0] for row in rows],
        reject_form=RejectReportForm(formdata=None),
        refused_report=refused_report,
        refused_report_form=refused_form if refused_report is not None else None,
        payouts=to_send,
        # a payout whose payee is not verified (any more) is not sent: the page says why
        send_refusals={
            p.id: payouts.payout_refusal(p.contract, payouts.payout_role(p)) for p in to_send
        },
        transfer_form=ConfirmTransferForm(formdata=None),
        payout_form=SendPayoutForm(formdata=None),
        refused_form=refused_form if refused_id is not None else None,
        refused_id=refused_id,
        refused_payout_form=refused_form if refused_payout is not None else None,
        refused_payout=refused_payout,
    )


@bp.post("/fundings/<int:funding_id>/confirm")
@login_required
def confirm_transfer(funding_id):
    _require_manager()
    received = get_or_404(Funding, funding_id)
    form = ConfirmTransferForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            require_valid(form)
        return _manage_page(form, funding_id), 400
    try:
        with transaction():
            transfers.confirm_transfer(
                current_user, received, form.amount.fen, form.bank_reference.data
            )
    except DomainError as error:
        status = refused(form, error)
        return _manage_page(form, funding_id), status
    flash(_("Transfer recorded: the milestone is funded in escrow."), "success")
    return redirect(url_for("payments.manage"))


@bp.post("/transfer-reports/<int:report_id>/reject")
@login_required
def reject_report(report_id):
    _require_manager()
    report = get_or_404(TransferReport, report_id)
    form = RejectReportForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            require_valid(form)
        return _manage_page(form, refused_report=report.funding_id), 400
    try:
        with transaction():
            transfers.reject_report(current_user, report, form.reason.data)
    except DomainError as error:
        status = refused(form, error)
        return _manage_page(form, refused_report=report.funding_id), status
    flash(_("The report is rejected; the enterprise is told why."), "info")
    return redirect(url_for("payments.manage"))


@bp.post("/payouts/<int:payout_id>/send")
@login_required
def send_payout(payout_id):
    _require_manager()
    payout = get_or_404(Payout, payout_id)
    form = SendPayoutForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            require_valid(form)
        return _manage_page(form, refused_payout=payout_id), 400
    try:
        with transaction():
            payouts.send_payout(current_user, payout, form.bank_reference.data)
    except DomainError as error:
        status = refused(form, error)
        return _manage_page(form, refused_payout=payout_id), status
    flash(_("Payout recorded as sent."), "success")
    return redirect(url_for("payments.manage"))


def _policy_form():
    form = PolicyForm()
    options = []
    if current_user.is_admin:
        options.append(SelectChoice("", _("The whole platform (default)")))
        allowed = centers.all_centers()
    else:
        subtree = authz.managed_center_ids(current_user)
        allowed = db.session.scalars(
            sa.select(Center).where(Center.id.in_(subtree)).order_by(Center.path)
        ).all()
    options += [SelectChoice(str(c.id), "\u3000" * c.depth + c.name) for c in allowed]
    form.center_id.choices = options
    return form


@bp.route("/manage/policies", methods=["GET", "POST"])
@login_required
def policies():
    _require_manager()
    form = _policy_form()
    if form.is_submitted() and form.center_id.data not in {c.value for c in form.center_id.choices}:
        abort(403)  # a center outside the actor's subtree, or the platform's for a manager
    if form.validate_on_submit():
        center = db.session.get(Center, int(form.center_id.data)) if form.center_id.data else None
        try:
            with transaction():
                policy.set_policy(
                    current_user,
                    center,
                    form.contract_type.data or None,
                    form.commission.bps,
                    form.client_fee.bps,
                    form.center_share.bps,
                    form.max_brokerage.bps,
                )
        except DomainError as error:
            refused(form, error)
        else:
            flash(
                _("The commission policy is saved. Contracts already signed keep theirs."),
                "success",
            )
            return redirect(url_for("payments.policies"))
    rows = [
        row
        for row in db.session.scalars(sa.select(CommissionPolicy).order_by(CommissionPolicy.scope))
        # the platform's rows are shown to every manager: they apply where no override does
        if row.center is None or policy.may_set(current_user, row.center)
    ]
    status = 400 if form.errors else 200
    page = render_template(
        "payments/policies.html",
        form=form,
        policies=rows,
        builtin=policy.builtin_default(),
        confirm=ConfirmForm(),
    )
    return page, status


@bp.post("/manage/policies/<int:policy_id>/remove")
@login_required
def remove_policy(policy_id):
    row = get_or_404(CommissionPolicy, policy_id)
    ConfirmForm().validate_on_submit()
    with transaction():
        policy.remove_policy(current_user, row)
    flash(_("The override is removed; the policy above it applies again."), "info")
    return redirect(url_for("payments.policies"))


@bp.get("/manage/revenue")
@login_required
def revenue():
    if not current_user.is_admin:
        abort(403)
    table = statements.revenue_by_month_and_center()
    names = {center.id: center.name for center in centers.all_centers()}
    query = QueryArguments()
    if query.choice("format", ["csv"]) == "csv":
        rows = [
            [
                month,
                names.get(center_id, center_id),
                yuan(parts["commission"]),
                yuan(parts["client_fee"]),
                yuan(parts["center_share"]),
                yuan(sum(parts.values())),
            ]
            for (month, center_id), parts in table.items()
        ]
        header = ["month", "center", "commission", "client_fee", "center_share", "total"]
        return csv_download(to_csv(header, rows), "platform-revenue.csv")
    return render_template("payments/revenue.html", table=table, names=names), query.status
