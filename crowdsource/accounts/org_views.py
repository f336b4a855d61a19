"""Organizations: create, show, edit; members, invitations and leaving."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from crowdsource.accounts import authz, bp, centers, orgs
from crowdsource.accounts.forms import InviteForm, OrganizationForm, RoleForm
from crowdsource.accounts.models import (
    Invitation,
    InvitationStatus,
    Membership,
    Organization,
    OrgKind,
)
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError, refused
from crowdsource.forms import NOT_AN_OPTION
from crowdsource.web import ConfirmForm, form_page, get_or_404


def _organization_form(**kwargs):
    form = OrganizationForm(**kwargs)
    form.center_id.choices = [
        SelectChoice(center.id, "\u3000" * center.depth + center.name)
        for center in centers.all_centers()
    ]
    return form


def _details(form):
    return dict(
        name=form.name.data,
        kind=form.kind.data,
        ownership=form.ownership.data or None,
        code=form.credit_code.data,
        center_id=form.center_id.data,
        description=form.description.data,
    )


@bp.get("/orgs")
@login_required
def my_organizations():
    memberships = db.session.scalars(
        sa.select(Membership)
        .filter_by(user_id=current_user.id)
        .options(sa.orm.joinedload(Membership.organization))
        .order_by(Membership.id)
    ).all()
    return render_template("accounts/my_organizations.html", memberships=memberships)


@bp.route("/orgs/new", methods=["GET", "POST"])
@login_required
def new_organization():
    form = _organization_form()
    kind = request.args.get("kind", "")  # the home page's links choose an enterprise or agency
    if request.method == "GET" and kind in set(OrgKind):
        form.kind.data = kind
    elif request.method == "GET" and kind:
        form.kind.errors = [NOT_AN_OPTION]
    if form.validate_on_submit():
        try:
            with transaction():
                organization = orgs.create_organization(current_user, **_details(form))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("%(name)s has been registered.", name=organization.name), "success")
            return redirect(url_for("accounts.organization", org_id=organization.id))
    return form_page(render_template("accounts/organization_form.html", form=form), form)


@bp.get("/orgs/<int:org_id>")
def organization(org_id):
    organization = get_or_404(Organization, org_id)
    return render_template(
        "accounts/organization.html",
        organization=organization,
        membership=authz.membership_of(current_user, organization),
        confirm=ConfirmForm(),
    )


@bp.route("/orgs/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def edit_organization(org_id):
    organization = get_or_404(Organization, org_id)
    authz.require_owner(current_user, organization)
    form = _organization_form(obj=organization)
    if form.validate_on_submit():
        try:
            with transaction():
                orgs.update_organization(current_user, organization, **_details(form))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("The organization has been saved."), "success")
            return redirect(url_for("accounts.organization", org_id=organization.id))
    return form_page(
        render_template("accounts/organization_form.html", form=form, organization=organization),
        form,
    )


@bp.route("/orgs/<int:org_id>/members", methods=["GET", "POST"])
@login_required
def members(org_id):
    organization = get_or_404(Organization, org_id)
    authz.require_member(current_user, organization)
    form = InviteForm()
    if form.validate_on_submit():
        authz.require_owner(current_user, organization)
        try:
            with transaction():
                invitation = orgs.invite_member(
                    current_user, organization, form.email.data, form.role.data
                )
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("%(name)s has been invited.", name=invitation.invitee.display_name), "success")
            return redirect(url_for("accounts.members", org_id=organization.id))
    pending = db.session.scalars(
        sa.select(Invitation)
        .filter_by(organization_id=organization.id, status=InvitationStatus.PENDING)
        .order_by(Invitation.id)
    ).all()
    html = render_template(
        "accounts/members.html",
        organization=organization,
        form=form,
        pending=pending,
        is_owner=authz.is_owner(current_user, organization),
        role_form=RoleForm(),
        confirm=ConfirmForm(),
    )
    return form_page(html, form)


@bp.post("/memberships/<int:membership_id>/role")
@login_required
def change_role(membership_id):
    membership = get_or_404(Membership, membership_id)
    form = RoleForm()
    if form.validate_on_submit():
        with transaction():
            orgs.change_role(current_user, membership, form.role.data)
        flash(_("The role has been changed."), "success")
    return redirect(url_for("accounts.members", org_id=membership.organization_id))


@bp.post("/memberships/<int:membership_id>/remove")
@login_required
def remove_member(membership_id):
    membership = get_or_404(Membership, membership_id)
    org_id, name = membership.organization_id, membership.user.display_name
    with transaction():
        orgs.remove_member(current_user, membership)
    flash(_("%(name)s is no longer a member.", name=name), "success")
    return redirect(url_for("accounts.members", org_id=org_id))


@bp.post("/orgs/<int:org_id>/leave")
@login_required
def leave(org_id):
    organization = get_or_404(Organization, org_id)
    with transaction():
        orgs.leave_organization(current_user, organization)
    flash(_("You have left %(name)s.", name=organization.name), "success")
    return redirect(url_for("accounts.my_organizations"))


@bp.get("/invitations")
@login_required
def my_invitations():
    invitations = db.session.scalars(
        sa.select(Invitation)
        .filter_by(invitee_id=current_user.id)
        .options(sa.orm.joinedload(Invitation.organization))
        .order_by(Invitation.id.desc())
    ).all()
    return render_template(
        "accounts/invitations.html", invitations=invitations, confirm=ConfirmForm()
    )


@bp.post("/invitations/<int:invitation_id>/<any(accept, decline, cancel):action>")
@login_required
def answer_invitation(invitation_id, action):
    invitation = get_or_404(Invitation, invitation_id)
    service = {
        "accept": orgs.accept_invitation,
        "decline": orgs.decline_invitation,
        "cancel": orgs.cancel_invitation,
    }[action]
    with transaction():
        service(current_user, invitation)
    organization = invitation.organization
    if action == "accept":
        flash(_("You are now a member of %(name)s.", name=organization.name), "success")
        return redirect(url_for("accounts.organization", org_id=organization.id))
    if action == "decline":
        flash(_("You have declined the invitation."), "info")
        return redirect(url_for("accounts.my_invitations"))
    flash(_("The invitation has been withdrawn."), "info")
    return redirect(url_for("accounts.members", org_id=organization.id))
