"""The home page, the language switcher and the navigation of every page."""

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request, session
from flask_login import current_user, login_required

from crowdsource import todo
from crowdsource.accounts import authz, services
from crowdsource.accounts.models import Invitation, InvitationStatus, Membership, OrgKind
from crowdsource.db import db, transaction
from crowdsource.notifications.services import unread_count
from crowdsource.web import ConfirmForm, redirect_next

bp = Blueprint("home", __name__)


def navigation():
    """What the navigation shows the current user: their roles decide the links."""
    if not current_user.is_authenticated:
        return {
            "pending_invitations": 0,
            "managed_centers": [],
            "organizations": [],
            "unread_notifications": 0,
            "is_enterprise": False,
            "todo": 0,
        }
    pending = db.session.scalar(
        sa.select(sa.func.count(Invitation.id)).filter_by(
            invitee_id=current_user.id, status=InvitationStatus.PENDING
        )
    )
    memberships = db.session.scalars(
        sa.select(Membership)
        .filter_by(user_id=current_user.id)
        .options(sa.orm.joinedload(Membership.organization))
        .order_by(Membership.id)
    ).all()
    organizations = [membership.organization for membership in memberships]
    managed = authz.managed_centers(current_user)
    return {
        "pending_invitations": pending,
        "managed_centers": managed,
        "organizations": organizations,
        "unread_notifications": unread_count(current_user),
        "is_enterprise": any(m.organization.kind == OrgKind.ENTERPRISE for m in memberships),
        "todo": todo.count(current_user, organizations, managed),
    }


@bp.get("/")
def index():
    return render_template("home.html")


@bp.get("/home")
@login_required
def todo_list():
    """The signed-in user's to-do list, a section per role (the public home stays at /)."""
    return render_template("todo.html", **todo.sections(current_user))


@bp.post("/language")
def set_language():
    lang = request.form.get("lang")
    form = ConfirmForm()
    if form.validate_on_submit() and lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            with transaction():
                services.set_language(current_user, lang)
    return redirect_next("home.index")
