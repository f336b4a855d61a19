"""Innovation centers: the public tree, a center's page, and managers (set by the admin)."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.accounts import authz, bp, centers
from crowdsource.accounts.forms import ManagerForm
from crowdsource.accounts.models import Center, Organization, User
from crowdsource.accounts.services import find_user_by_email
from crowdsource.db import db, transaction
from crowdsource.web import ConfirmForm, form_page, get_or_404


def _require_admin():
    if not (current_user.is_authenticated and current_user.is_admin):
        abort(403)


@bp.get("/centers")
def center_tree():
    return render_template(
        "accounts/centers.html",
        centers=centers.all_centers(),
        managed_ids={center.id for center in authz.managed_centers(current_user)},
    )


@bp.route("/centers/<int:center_id>", methods=["GET", "POST"])
def center(center_id):
    center = get_or_404(Center, center_id)
    form = ManagerForm()
    if form.validate_on_submit():
        _require_admin()
        user = find_user_by_email(form.email.data)
        if user is None:
            form.email.errors.append(_("Nobody has registered with this email."))
        else:
            with transaction():
                centers.make_manager(user, center)
            flash(_("%(name)s now manages %(center)s.", name=user.display_name, center=center.name))
            return redirect(url_for("accounts.center", center_id=center.id))
    children = db.session.scalars(
        sa.select(Center).filter_by(parent_id=center.id).order_by(Center.path)
    ).all()
    organizations = db.session.scalars(
        sa.select(Organization).filter_by(center_id=center.id).order_by(Organization.name)
    ).all()
    html = render_template(
        "accounts/center.html",
        center=center,
        children=children,
        organizations=organizations,
        managers=centers.managers_of(center),
        manages=authz.manages_center(current_user, center),
        form=form,
        confirm=ConfirmForm(),
    )
    return form_page(html, form)


@bp.post("/centers/<int:center_id>/managers/<int:user_id>/remove")
@login_required
def remove_manager(center_id, user_id):
    _require_admin()
    center = get_or_404(Center, center_id)
    user = get_or_404(User, user_id)
    with transaction():
        centers.remove_manager(user, center)
    flash(_("%(name)s no longer manages %(center)s.", name=user.display_name, center=center.name))
    return redirect(url_for("accounts.center", center_id=center.id))
