"""The queries behind task lists: filters, keyword search, sorting, pagination, bid counts.

A list page costs the same few queries however many tasks it shows (no N+1).
"""

import sqlalchemy as sa
from sqlalchemy import orm

from crowdsource.accounts import centers
from crowdsource.accounts.models import Center
from crowdsource.bids.models import LIVE_STATES, Bid
from crowdsource.db import db
from crowdsource.tasks import access, search
from crowdsource.tasks.models import Task, TaskTag

PER_PAGE = 20

ORDER = {
    "newest": (Task.published_at.desc(), Task.id.desc()),
    "deadline": (Task.bid_deadline.asc(), Task.id.asc()),
    "budget_high": (Task.budget_max_fen.desc(), Task.id.desc()),
    "budget_low": (Task.budget_min_fen.asc(), Task.id.asc()),
}


def filtered_tasks(user, form):
    """The select of the tasks the user may see that match the filter form (validated: a
    filter whose value is not valid is left out)."""
    query = sa.select(Task).where(access.visible_condition(user))
    statuses = form.statuses()
    if statuses:
        query = query.where(Task.status.in_(statuses))
    if form.value("contract_type"):
        query = query.where(Task.contract_type == form.value("contract_type"))
    if form.value("center_id"):
        center = db.session.get(Center, int(form.value("center_id")))
        if center is not None:
            query = query.where(Task.center_id.in_(centers.subtree_query(center)))
    if form.budget_min.fen:
        query = query.where(Task.budget_max_fen >= form.budget_min.fen)
    if form.budget_max.fen:
        query = query.where(Task.budget_min_fen <= form.budget_max.fen)
    skill = (form.value("skill") or "").strip().lower()
    if skill:
        tagged = sa.select(TaskTag.task_id).where(TaskTag.tag == skill)
        query = query.where(Task.id.in_(tagged))
    query = search.ranked(query, Task.id, form.value("q"))
    return query.order_by(*ORDER.get(form.value("sort"), ORDER["newest"]))


#: the filters of the list a user can drop one by one, in the order the form shows them
FILTERS = ("contract_type", "center_id", "skill", "budget_min", "budget_max")
#: every parameter of the list that says which tasks it shows (the page number aside)
SEARCH_ARGUMENTS = ("q", *FILTERS, "status", "sort")


def search_arguments(form):
    """The valid, non-empty values of the filter form by parameter name: the search as a URL
    says it (what a link that widens it, or a saved search, starts from); a default (open
    tasks, newest first) is left out as the list leaves it out."""
    arguments = {}
    for name in SEARCH_ARGUMENTS:
        value = form.value(name)
        if isinstance(value, str):
            value = value.strip()
        if value and value != form[name].default:
            arguments[name] = str(value)
    return arguments


def active_filters(form):
    """``[(name, label, value as shown)]`` of the filters (not words, status or order) that
    narrow the list."""
    shown = []
    for name in FILTERS:
        field = form[name]
        value = form.value(name)
        if not (value or "").strip():
            continue
        text = value.strip()
        for choice_value, label, *_ in getattr(field, "choices", None) or []:
            if str(choice_value) == str(value):
                text = str(label).strip("\u3000")
        shown.append((name, field.label.text, text))
    return shown


def status_filter(form):
    """The status filter in force ("open" when none or an unknown one is asked for), or None
    when the list shows every status."""
    status = form.value("status") or "open"
    return None if status == "all" else status


def with_details(query):
    """Load each task's organization and center in the same query."""
    return query.options(orm.joinedload(Task.organization), orm.joinedload(Task.center))


def bid_counts(tasks):
    """Live bids per task id, in one query."""
    ids = [task.id for task in tasks]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Bid.task_id, sa.func.count(Bid.id))
        .where(Bid.task_id.in_(ids), Bid.status.in_(LIVE_STATES))
        .group_by(Bid.task_id)
    )
    return dict(rows.all())


def page_of(query, page):
    return db.paginate(with_details(query), page=page, per_page=PER_PAGE, error_out=False)
