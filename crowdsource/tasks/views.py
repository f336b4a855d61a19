"""Task pages: the list with filters, my tasks, posting, editing, the task page, lifecycle."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from crowdsource.accounts import authz, centers
from crowdsource.accounts.models import Organization, OrgKind
from crowdsource.db import db, transaction, utcnow
from crowdsource.errors import DomainError, refused
from crowdsource.tasks import access, bp, listing, page, services
from crowdsource.tasks.forms import (
    STATUS_FILTERS,
    STATUS_HINTS,
    CancelForm,
    TaskFilterForm,
    TaskForm,
)
from crowdsource.tasks.models import Task, TaskInvitation, TaskStatus
from crowdsource.text import split_tags
from crowdsource.web import (
    INVALID_FORM_STATUS,
    ConfirmForm,
    QueryArguments,
    form_page,
    get_or_404,
)

#: task form fields shown but not changeable once the task is published
FIXED_WHEN_OPEN = (
    "organization_id",
    "contract_type",
    "center_id",
    "visibility",
    "bid_mode",
    "ip_terms",
    "nda_required",
)


def center_choices(blank=None):
    options = [SelectChoice("", blank)] if blank else []
    return options + [
        SelectChoice(center.id, "\u3000" * center.depth + center.name)
        for center in centers.all_centers()
    ]


@bp.get("/tasks")
def task_list():
    form = TaskFilterForm(request.args)
    form.center_id.choices = center_choices(_("All centers"))
    form.validate()
    query = QueryArguments()
    pagination = listing.page_of(listing.filtered_tasks(current_user, form), query.page())
    arguments = listing.search_arguments(form)
    html = render_template(
        "tasks/list.html",
        form=form,
        pagination=pagination,
        bid_counts=listing.bid_counts(pagination.items),
        words=arguments.get("q"),
        status_filter=listing.status_filter(form),
        status_hints=STATUS_HINTS,
        status_labels=STATUS_FILTERS,
        filters=listing.active_filters(form),
        arguments=arguments,
        without=_list_urls_without(arguments),
    )
    # The list without the refused filters, and their messages at the fields.
    return html, (INVALID_FORM_STATUS if form.refused else query.status)


def _list_urls_without(arguments):
    """The addresses of the list that widen the search: without one of its parameters
    (``"status"``: every status)."""
    urls = {}
    for name in (*listing.FILTERS, "q"):
        if name in arguments:
            kept = {key: value for key, value in arguments.items() if key != name}
            urls[name] = url_for("tasks.task_list", **kept)
    urls["status"] = url_for("tasks.task_list", **{**arguments, "status": "all"})
    return urls


@bp.get("/tasks/mine")
@login_required
def my_tasks():
    organization_ids = authz.organization_ids_of(current_user)
    query = (
        sa.select(Task)
        .where(Task.organization_id.in_(organization_ids))
        .order_by(Task.created_at.desc(), Task.id.desc())
    )
    arguments = QueryArguments()
    pagination = listing.page_of(query, arguments.page())
    html = render_template(
        "tasks/mine.html",
        pagination=pagination,
        bid_counts=listing.bid_counts(pagination.items),
        enterprises=services.enterprises_of(current_user),
    )
    return html, arguments.status


def _task_form(task=None):
    form = TaskForm()
    enterprises = services.enterprises_of(current_user)
    form.organization_id.choices = [SelectChoice(org.id, org.name) for org in enterprises]
    form.center_id.choices = center_choices()
    agencies = db.session.scalars(
        sa.select(Organization).filter_by(kind=OrgKind.AGENCY).order_by(Organization.name)
    )
    form.invite_agencies.choices = [SelectChoice(org.id, org.name) for org in agencies]
    if task is not None and task.status == TaskStatus.OPEN:
        for name in FIXED_WHEN_OPEN:
            getattr(form, name).render_kw = {"disabled": True}
    if request.method == "GET":
        if task is not None:
            form.fill_from(task)
            _fill_invitations(form, task)
        elif enterprises:
            form.center_id.data = enterprises[0].center_id
    return form


def _fill_invitations(form, task):
    invitations = db.session.scalars(sa.select(TaskInvitation).filter_by(task_id=task.id)).all()
    form.invite_emails.data = ", ".join(i.user.email for i in invitations if i.user)
    form.invite_agencies.data = [i.organization_id for i in invitations if i.organization_id]


def _details(form):
    agencies = [db.session.get(Organization, org_id) for org_id in form.invite_agencies.data]
    return services.TaskDetails(
        title=form.title.data.strip(),
        summary=form.summary.data.strip(),
        description=form.description.data,
        contract_type=form.contract_type.data,
        fields=split_tags(form.fields.data),
        skills=split_tags(form.skills.data),
        budget_min_fen=form.budget_min.fen,
        budget_max_fen=form.budget_max.fen,
        bid_deadline=form.deadline_utc,
        delivery_date=form.delivery_date.data,
        center_id=form.center_id.data,
        visibility=form.visibility.data,
        bid_mode=form.bid_mode.data,
        ip_terms=form.ip_terms.data,
        nda_required=form.nda_required.data,
        invited_users=form.invited_users(),
        invited_organizations=[agency for agency in agencies if agency is not None],
    )


@bp.route("/tasks/new", methods=["GET", "POST"])
@login_required
def new_task():
    form = _task_form()
    if not form.organization_id.choices:
        flash(_("Only members of an enterprise can post tasks. Register your enterprise first."))
        return redirect(url_for("accounts.new_organization", kind="enterprise"))
    if form.validate_on_submit():
        organization = get_or_404(Organization, form.organization_id.data)
        try:
            with transaction():
                task = services.create_task(current_user, organization, _details(form))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Your draft is saved. Attach files if you like, then publish it."), "success")
            return redirect(url_for("tasks.show", task_id=task.id))
    return form_page(render_template("tasks/form.html", form=form, task=None), form)


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@login_required
def edit(task_id):
    task = get_or_404(Task, task_id)
    services.require_editable(current_user, task, utcnow())
    form = _task_form(task)
    if task.status == TaskStatus.OPEN and request.method == "POST":
        # The terms fixed at publication are shown disabled, so browsers do not send them.
        for name in FIXED_WHEN_OPEN:
            getattr(form, name).data = getattr(task, name)
        _fill_invitations(form, task)
    if form.validate_on_submit():
        try:
            with transaction():
                services.update_task(current_user, task, _details(form))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("The task has been saved."), "success")
            return redirect(url_for("tasks.show", task_id=task.id))
    return form_page(render_template("tasks/form.html", form=form, task=task), form)


@bp.get("/tasks/<int:task_id>")
def show(task_id):
    task = get_or_404(Task, task_id)
    access.require_view(current_user, task)
    arguments = QueryArguments()
    questions_page = arguments.page()
    return page.render(task, arguments.status, questions_page=questions_page)


@bp.post("/tasks/<int:task_id>/<any(publish, close, nda):action>")
@login_required
def lifecycle(task_id, action):
    task = get_or_404(Task, task_id)
    ConfirmForm().validate_on_submit()
    service = {
        "publish": services.publish_task,
        "close": services.close_bidding,
        "nda": services.accept_nda,
    }[action]
    with transaction():
        service(current_user, task)
    flash(
        {
            "publish": _("The task is published and open for bids."),
            "close": _("Bidding has ended. Compare the bids and award one."),
            "nda": _("You accepted the confidentiality terms of this task."),
        }[action],
        "success",
    )
    return redirect(url_for("tasks.show", task_id=task.id))


@bp.post("/tasks/<int:task_id>/cancel")
@login_required
def cancel(task_id):
    task = get_or_404(Task, task_id)
    access.require_member(current_user, task)
    form = CancelForm()
    if not form.validate_on_submit():
        if not (form.reason.data or "").strip():
            form.reason.errors = [_("Give the bidders a reason for the cancellation.")]
        return page.render(task, 400, cancel_form=form)
    try:
        with transaction():
            services.cancel_task(current_user, task, form.reason.data)
    except DomainError as error:
        if task.status not in (TaskStatus.OPEN, TaskStatus.CLOSED):
            raise  # cancelled meanwhile: no form to show it on, the error page says it
        status = refused(form, error)
        return page.render(task, status, cancel_form=form)
    flash(_("The task has been cancelled and the bidders told."), "info")
    return redirect(url_for("tasks.show", task_id=task.id))
