"""Saved payout details: a person's on their account pages, an organization's for its owners.
Numbers are shown masked once entered."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.accounts.models import Organization
from crowdsource.db import transaction
from crowdsource.errors import DomainError, refused
from crowdsource.payments import bp, payee_details
from crowdsource.payments.forms import PayoutDetailsForm
from crowdsource.payments.models import PayoutDetails
from crowdsource.web import ConfirmForm, get_or_404, require_valid


def _owner(org_id):
    """The owner of the details page: the user, or the organization ``org_id``; 404 for anyone
    who may not manage its details (nobody learns another's accounts exist)."""
    owner = current_user if org_id is None else get_or_404(Organization, org_id)
    if not payee_details.may_manage(current_user, owner):
        abort(404)
    return owner


def _list_url(owner):
    if isinstance(owner, Organization):
        return url_for("payments.organization_payout_details", org_id=owner.id)
    return url_for("payments.my_payout_details")


def _details_page(owner, form, status=200):
    html = render_template(
        "payments/payout_details.html",
        owner=owner,
        organization=owner if isinstance(owner, Organization) else None,
        saved=payee_details.details_of(owner),
        form=form,
        confirm=ConfirmForm(),
    )
    return html, status


@bp.route("/account/payout-details", methods=["GET", "POST"])
@login_required
def my_payout_details():
    return _manage(None)


@bp.route("/orgs/<int:org_id>/payout-details", methods=["GET", "POST"])
@login_required
def organization_payout_details(org_id):
    return _manage(org_id)


def _manage(org_id):
    owner = _owner(org_id)
    form = PayoutDetailsForm()
    if request.method == "GET":
        return _details_page(owner, form)
    if not form.validate_on_submit():
        return _details_page(owner, form, 400)
    try:
        with transaction():
            payee_details.save_details(
                current_user,
                owner,
                form.bank_account_name.data,
                form.bank_name.data,
                form.bank_account_number.data,
            )
    except DomainError as error:
        return _details_page(owner, form, refused(form, error))
    flash(_("The account has been saved for your payouts."), "success")
    return redirect(_list_url(owner))


def _saved(details_id):
    details = get_or_404(PayoutDetails, details_id)
    if not payee_details.may_manage(current_user, payee_details.owner_of(details)):
        abort(404)
    return details


@bp.route("/payout-details/<int:details_id>/edit", methods=["GET", "POST"])
@login_required
def edit_payout_details(details_id):
    details = _saved(details_id)
    owner = payee_details.owner_of(details)
    form = PayoutDetailsForm(obj=details)
    if request.method == "GET":
        form.bank_account_number.data = ""  # never shown again: an empty field keeps it
    if form.validate_on_submit():
        try:
            with transaction():
                payee_details.update_details(
                    current_user,
                    details,
                    form.bank_account_name.data,
                    form.bank_name.data,
                    form.bank_account_number.data,
                )
        except DomainError as error:
            status = refused(form, error)
        else:
            flash(_("The account has been changed."), "success")
            return redirect(_list_url(owner))
    else:
        status = 400 if request.method == "POST" else 200
    html = render_template("payments/payout_details_edit.html", details=details, form=form)
    return html, status


@bp.post("/payout-details/<int:details_id>/delete")
@login_required
def delete_payout_details(details_id):
    details = _saved(details_id)
    owner = payee_details.owner_of(details)
    require_valid(ConfirmForm())
    with transaction():
        payee_details.remove_details(current_user, details)
    flash(_("The account has been removed; payouts already requested keep it."), "info")
    return redirect(_list_url(owner))
