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
