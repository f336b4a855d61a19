"""The operator console's pages: search, an account, suspending and reactivating, task
moderation, the audit trail and its CSV export."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.accounts import sessions
from crowdsource.accounts.models import Membership, User
from crowdsource.audit import trail
from crowdsource.console import bp, services
from crowdsource.console.forms import AuditFilterForm, ReasonForm, SearchForm
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError, refused
from crowdsource.tasks import moderation
from crowdsource.tasks.models import Task
from crowdsource.web import QueryArguments, csv_download, form_page, get_or_404

#: audit events a page of the trail shows
TRAIL_PAGE = 50


@bp.before_request
@login_required
def only_operators():
    """Every page of the console is the admin's and the managers' (404 for anyone else: the
    console's existence is nobody else's business)."""
    if not services.may_use_console(current_user):
        abort(404)


@bp.get("/")
def index():
    form = SearchForm(request.args)
    if not form.validate():
        return render_template("console/index.html", form=form, users=[], organizations=[]), 400
    text = form.q.data or ""
    return render_template(
        "console/index.html",
        form=form,
        users=services.find_users(current_user, text) if text else [],
        organizations=services.find_organizations(current_user, text) if text else [],
    )


def _visible_user(user_id):
    """The account ``user_id`` if the operator may look at it (404 otherwise)."""
    user = get_or_404(User, user_id)
    if not current_user.is_admin and user not in services.find_users(current_user, user.email):
        abort(404)
    return user


def _user_page(user, form, status=200):
    memberships = db.session.scalars(
        sa.select(Membership)
        .filter_by(user_id=user.id)
        .options(sa.orm.joinedload(Membership.organization))
    ).all()
    html = render_template(
        "console/user.html",
        user=user,
        memberships=memberships,
        live_sessions=len(sessions.live_sessions(user)),
        events=trail("user", user.id),
        form=form,
    )
    return html, status


@bp.get("/users/<int:user_id>")
def user(user_id):
    return _user_page(_visible_user(user_id), ReasonForm())


@bp.post("/users/<int:user_id>/<any(suspend, reactivate):step>")
def change_user(user_id, step):
    user = _visible_user(user_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _user_page(user, form, 400)
    try:
        with transaction():
            if step == "suspend":
                withdrawn, hidden = services.suspend(current_user, user, form.reason.data)
            else:
                services.reactivate(current_user, user, form.reason.data)
    except DomainError as error:
        return _user_page(user, form, refused(form, error))
    if step == "suspend":
        flash(
            _(
                "The account is suspended: %(bids)d bids withdrawn, %(tasks)d tasks hidden.",
                bids=withdrawn,
                tasks=hidden,
            ),
            "success",
        )
    else:
        flash(_("The account is active again."), "success")
    return redirect(url_for("console.user", user_id=user.id))


# --- task moderation -----------------------------------------------------------------------


def _moderated_task(task_id):
    task = get_or_404(Task, task_id)
    if not moderation.may_moderate(current_user, task):
        abort(404)
    return task


@bp.get("/tasks/<int:task_id>")
def task(task_id):
    task = _moderated_task(task_id)
    return render_template("console/task.html", task=task, form=ReasonForm())


@bp.post("/tasks/<int:task_id>/<any(hide, restore):step>")
def moderate_task(task_id, step):
    task = _moderated_task(task_id)
    form = ReasonForm()
    if step == "hide" and not form.validate_on_submit():
        return render_template("console/task.html", task=task, form=form), 400
    try:
        with transaction():
            if step == "hide":
                moderation.hide_task(current_user, task, form.reason.data)
            else:
                moderation.restore_task(current_user, task)
    except DomainError as error:
        status = refused(form, error)
        return render_template("console/task.html", task=task, form=form), status
    flash(_("The task is hidden.") if step == "hide" else _("The task is shown again."), "success")
    return redirect(url_for("console.task", task_id=task.id))


# --- the audit trail -------------------------------------------------------------------------


def _trail_filters():
    """The trail's filters from the query, for the admin only (404 for anyone else): the
    form, and the page that refuses it when a filter is not valid (else None)."""
    if not current_user.is_admin:
        abort(404)
    subjects, actions = services.subjects_and_actions()
    form = AuditFilterForm(subjects, actions, request.args)
    if form.validate():
        return form, None
    return form, form_page(render_template("console/audit.html", form=form, pagination=None), form)


def _trail_query(form):
    return services.trail_query(
        form.actor.data, form.subject.data, form.action.data, form.since.data, form.until.data
    )


@bp.get("/audit")
def audit_trail():
    form, refusal = _trail_filters()
    if refusal:
        return refusal
    arguments = QueryArguments()
    page = arguments.page()
    pagination = db.paginate(_trail_query(form), page=page, per_page=TRAIL_PAGE, error_out=False)
    html = render_template("console/audit.html", form=form, pagination=pagination)
    return html, arguments.status


@bp.get("/audit.csv")
def audit_csv():
    form, refusal = _trail_filters()
    if refusal:
        return refusal
    return csv_download(services.trail_csv(_trail_query(form)), "audit-trail.csv")
