"""Pages of the center managers and the admin: transfers to confirm, payouts to send,
commission policies, platform revenue."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from crowdsource.accounts import authz, centers
from crowdsource.accounts.models import Center
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError
from crowdsource.payments import bp, funding, payouts, policy, statements
from crowdsource.payments.forms import ConfirmTransferForm, PolicyForm, SendPayoutForm
from crowdsource.payments.models import CommissionPolicy, Funding, Payout
from crowdsource.payments.statements import to_csv, yuan
from crowdsource.web import ConfirmForm, csv_download, get_or_404


def _require_manager():
    if not (current_user.is_admin or authz.managed_centers(current_user)):
        abort(403)


@bp.get("/manage/payments")
@login_required
def manage():
    _require_manager()
    return render_template(
        "payments/manage.html",
        transfers=funding.transfers_to_confirm(current_user),
        payouts=payouts.payouts_to_send(current_user),
        transfer_form=ConfirmTransferForm(formdata=None),
        payout_form=SendPayoutForm(formdata=None),
    )


@bp.post("/fundings/<int:funding_id>/confirm")
@login_required
def confirm_transfer(funding_id):
    received = get_or_404(Funding, funding_id)
    form = ConfirmTransferForm()
    if not form.validate_on_submit():
        abort(400, " ".join(str(m) for errors in form.errors.values() for m in errors))
    with transaction():
        funding.confirm_bank_transfer(
            current_user, received, form.amount.fen, form.bank_reference.data
        )
    flash(_("Transfer recorded: the milestone is funded in escrow."), "success")
    return redirect(url_for("payments.manage"))


@bp.post("/payouts/<int:payout_id>/send")
@login_required
def send_payout(payout_id):
    payout = get_or_404(Payout, payout_id)
    form = SendPayoutForm()
    if not form.validate_on_submit():
        abort(400, " ".join(str(m) for errors in form.errors.values() for m in errors))
    with transaction():
        payouts.send_payout(current_user, payout, form.bank_reference.data)
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
            form.commission.errors.append(error.message)
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
    if request.args.get("format") == "csv":
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
    return render_template("payments/revenue.html", table=table, names=names)
