"""Real-name verification pages: a person's and an organization's application, the reviewers'
queue, a request's review with its decisions, and the business licence's download."""

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from crowdsource import audit
from crowdsource.accounts import authz, bp, centers, verification
from crowdsource.accounts.forms import (
    DecisionForm,
    OrganizationVerificationForm,
    PersonVerificationForm,
)
from crowdsource.accounts.models import Organization, Verification, VerificationStatus
from crowdsource.db import transaction
from crowdsource.errors import DomainError, refused
from crowdsource.web import form_page, get_or_404


def _person_form():
    form = PersonVerificationForm()
    form.center_id.choices = [
        SelectChoice(0, _("— choose —")),
        *(
            SelectChoice(center.id, "\u3000" * center.depth + center.name)
            for center in centers.all_centers()
        ),
    ]
    return form


def _may_apply(subject, latest):
    return not subject.real_name_verified and (
        latest is None or latest.status != VerificationStatus.PENDING
    )


@bp.route("/account/real-name", methods=["GET", "POST"])
@login_required
def real_name():
    form = _person_form()
    latest = verification.latest_of(current_user)
    may_apply = _may_apply(current_user, latest)
    status = None
    if form.validate_on_submit():
        try:
            with transaction():
                verification.apply_as_person(
                    current_user, form.legal_name.data, form.id_number.data, form.center_id.data
                )
        except DomainError as error:
            if not may_apply:
                raise  # no form on the page: the error page says why (waiting, verified)
            status = refused(form, error)
        else:
            flash(_("Your application is sent: a manager of the center reviews it."), "success")
            return redirect(url_for("accounts.real_name"))
    html = render_template(
        "accounts/verification.html", latest=latest, form=form if may_apply else None
    )
    return (html, status) if status else form_page(html, form)


@bp.route("/orgs/<int:org_id>/verification", methods=["GET", "POST"])
@login_required
def organization_verification(org_id):
    organization = get_or_404(Organization, org_id)
    authz.require_member(current_user, organization)
    if request.method == "POST":
        authz.require_owner(current_user, organization)
    latest = verification.latest_of(organization)
    may_apply = authz.is_owner(current_user, organization) and _may_apply(organization, latest)
    form = OrganizationVerificationForm(data={"credit_code": organization.credit_code})
    status = None
    if form.validate_on_submit():
        try:
            with transaction():
                verification.apply_for_organization(
                    current_user, organization, form.credit_code.data, form.licence.data
                )
        except DomainError as error:
            if not may_apply:
                raise  # no form on the page: the error page says why
            status = refused(form, error)
        else:
            flash(_("The application is sent: a manager of the center reviews it."), "success")
            return redirect(url_for("accounts.organization_verification", org_id=org_id))
    html = render_template(
        "accounts/organization_verification.html",
        organization=organization,
        latest=latest,
        form=form if may_apply else None,
    )
    return (html, status) if status else form_page(html, form)


@bp.get("/verifications")
@login_required
def verification_queue():
    if not (current_user.is_admin or authz.managed_centers(current_user)):
        abort(403)
    return render_template(
        "accounts/verification_queue.html", applications=verification.queue(current_user)
    )


def _reviewed(verification_id):
    """The application, for its reviewers (and the admin, who may revoke it); else 404 (403 for its
    own side)."""
    application = get_or_404(Verification, verification_id)
    verification.require_reviewer(current_user, application)
    return application


def _review_page(application, form=None, status=200):
    return render_template(
        "accounts/verification_review.html",
        application=application,
        form=form or DecisionForm(formdata=None),
        trail=audit.trail("verification", application.id),
        may_decide=application.status == VerificationStatus.PENDING,
        may_revoke=verification.may_revoke(current_user, application),
        status_labels={status.value: status.label for status in VerificationStatus},
    ), status


@bp.get("/verifications/<int:verification_id>")
@login_required
def review_verification(verification_id):
    return _review_page(_reviewed(verification_id))


DECISIONS = {
    "approve": (verification.approve, "success"),
    "refuse": (verification.refuse, "info"),
    "revoke": (verification.revoke, "info"),
}
DECIDED = {
    "approve": lambda name: _("%(name)s is verified.", name=name),
    "refuse": lambda name: _("The application of %(name)s is refused.", name=name),
    "revoke": lambda name: _("The verification of %(name)s is revoked.", name=name),
}


@bp.post("/verifications/<int:verification_id>/<any(approve, refuse, revoke):decision>")
@login_required
def decide_verification(verification_id, decision):
    application = _reviewed(verification_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _review_page(application, form, 400)
    service, category = DECISIONS[decision]
    try:
        with transaction():
            service(current_user, application, form.reason.data)
    except DomainError as error:
        return _review_page(application, form, refused(form, error))
    flash(DECIDED[decision](application.subject_name), category)
    return redirect(url_for("accounts.verification_queue"))


@bp.get("/verifications/<int:verification_id>/licence")
@login_required
def verification_licence(verification_id):
    application = get_or_404(Verification, verification_id)
    path = verification.licence_path(current_user, application)
    return send_file(
        path,
        mimetype=application.licence_content_type,
        as_attachment=True,
        download_name=application.licence_name,
        max_age=0,
    )
