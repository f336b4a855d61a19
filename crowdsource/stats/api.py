"""The open-data API, ``/api/v1/``: read-only JSON of the centers, the public open tasks (what
the public task list shows, without the posting organization) and the public statistics.

Every list is paginated (``page``, ``per_page``) and filtered by declared query parameters
(params.py); anything else gets a 400 with ``{"error": …}``. Requests are counted per client
(ratelimit.py). The OpenAPI 3 document (openapi.py) describes all of it at
``/api/v1/openapi.json``, and ``/api/v1/docs`` shows it to people.
"""

import dataclasses
import math

import sqlalchemy as sa
from flask import jsonify, render_template, request, url_for

from crowdsource.accounts import centers as center_services
from crowdsource.accounts.models import Center
from crowdsource.db import db
from crowdsource.errors import NotFound
from crowdsource.stats import api_bp, bp, openapi, public
from crowdsource.stats import params as p
from crowdsource.stats.openapi import CENTER_PARAMS, STATS_PARAMS, TASK_PARAMS
from crowdsource.stats.ratelimit import add_rate_limit_headers, check_rate_limit
from crowdsource.stats.tables import to_items
from crowdsource.tasks import access, listing, search
from crowdsource.tasks.models import Task, TaskStatus, TaskTag

api_bp.before_request(check_rate_limit)


@api_bp.after_request
def api_headers(response):
    """Open data: any web page may read it (no cookies are needed, none are trusted)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers.setdefault("Cache-Control", "public, max-age=60")
    return add_rate_limit_headers(response)


def _page(values, total, items):
    return {
        "items": items,
        "page": values["page"],
        "per_page": values["per_page"],
        "total": total,
        "pages": math.ceil(total / values["per_page"]) if total else 0,
    }


def _slice(rows, values):
    start = (values["page"] - 1) * values["per_page"]
    return rows[start : start + values["per_page"]]


# --- the document --------------------------------------------------------------------------


@api_bp.get("/")
def index():
    return jsonify(
        name="Crowdsource open data",
        version="1",
        openapi=url_for("stats.api.openapi_document", _external=True),
        docs=url_for("stats.api.docs", _external=True),
    )


@api_bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document(request.url_root.rstrip("/") + api_bp.url_prefix))


@api_bp.get("/docs")
def docs():
    return render_template("stats/api_docs.html", spec=openapi.document(api_bp.url_prefix))


# --- centers -------------------------------------------------------------------------------


def center_item(center, codes):
    return {
        "code": center.code,
        "name_zh": center.name_zh,
        "name_en": center.name_en,
        "level": center.level.value,
        "parent": codes.get(center.parent_id),
    }


def _center_by_code(code):
    """The center with this code; 404 if there is none (also when a filter names it: the
    parameter is well-formed, the thing it names is not there)."""
    center = db.session.scalar(sa.select(Center).where(Center.code == code.strip().lower()))
    if center is None:
        raise NotFound(openapi.NO_SUCH_CENTER)
    return center


@api_bp.get("/centers")
def centers():
    values = p.parse(request.args, CENTER_PARAMS)
    every = center_services.all_centers()
    codes = {center.id: center.code for center in every}
    chosen = every
    if values["level"]:
        chosen = [c for c in chosen if c.level.value == values["level"]]
    if values["parent"]:
        parent = _center_by_code(values["parent"])
        chosen = [c for c in chosen if c.parent_id == parent.id]
    items = [center_item(c, codes) for c in _slice(chosen, values)]
    return jsonify(_page(values, len(chosen), items))


@api_bp.get("/centers/<code>")
def center(code):
    p.parse(request.args, [])
    found = _center_by_code(code)
    codes = {c.id: c.code for c in center_services.all_centers()}
    return jsonify(center_item(found, codes))


# --- tasks ---------------------------------------------------------------------------------


def public_open_tasks():
    """The tasks the public list shows by default: published, public, open for bids."""
    return sa.select(Task).where(access.visible_condition(None), Task.status == TaskStatus.OPEN)


def task_item(task, bids):
    return {
        "id": task.id,
        "url": url_for("tasks.show", task_id=task.id, _external=True),
        "title": task.title,
        "summary": task.summary,
        "contract_type": task.contract_type.value,
        "center": task.center.code,
        "budget_min_fen": task.budget_min_fen,
        "budget_max_fen": task.budget_max_fen,
        "currency": task.currency,
        "bid_deadline": task.bid_deadline.isoformat(),
        "delivery_date": task.delivery_date.isoformat(),
        "published_at": task.published_at.isoformat() if task.published_at else None,
        "fields": list(task.fields or []),
        "skills": list(task.skills or []),
        "bid_mode": task.bid_mode.value,
        "nda_required": task.nda_required,
        "bids": bids,
    }


def _filtered_tasks(values):
    query = public_open_tasks()
    if values["contract_type"]:
        query = query.where(Task.contract_type == values["contract_type"])
    if values["center"]:
        center = _center_by_code(values["center"])
        subtree = center_services.subtree_query(center)
        query = query.where(Task.center_id.in_(subtree))
    if values["budget_min"] is not None:
        query = query.where(Task.budget_max_fen >= values["budget_min"] * 100)
    if values["budget_max"] is not None:
        query = query.where(Task.budget_min_fen <= values["budget_max"] * 100)
    if values["skill"]:
        tagged = sa.select(TaskTag.task_id).where(TaskTag.tag == values["skill"].strip().lower())
        query = query.where(Task.id.in_(tagged))
    query = search.ranked(query, Task.id, values["q"])
    return query.order_by(*listing.ORDER[values["sort"] or "newest"])


@api_bp.get("/tasks")
def tasks():
    values = p.parse(request.args, TASK_PARAMS)
    query = listing.with_details(_filtered_tasks(values))
    pagination = db.paginate(
        query, page=values["page"], per_page=values["per_page"], error_out=False, max_per_page=None
    )
    counts = listing.bid_counts(pagination.items)
    items = [task_item(task, counts.get(task.id, 0)) for task in pagination.items]
    return jsonify(_page(values, pagination.total, items))


@api_bp.get("/tasks/<int:task_id>")
def task(task_id):
    p.parse(request.args, [])
    if task_id > openapi.MAX_ID:
        raise NotFound(openapi.NO_SUCH_TASK)
    found = db.session.scalar(listing.with_details(public_open_tasks().where(Task.id == task_id)))
    if found is None:
        raise NotFound(openapi.NO_SUCH_TASK)
    return jsonify(task_item(found, listing.bid_counts([found]).get(found.id, 0)))


# --- statistics ----------------------------------------------------------------------------

#: the public tables and the parameters that select their rows
#: extra keys of the rows given out, beside the table's columns
STATS_EXTRA = {
    "contracts-by-city": ("center_name_zh", "center_name_en", "suppressed", "suppressed_by"),
}


def selected_rows(table, values):
    """The rows of a public table that the filters select (never a new breakdown)."""
    rows = table.rows
    if values.get("year_from") is not None:
        rows = [r for r in rows if r["year"] >= values["year_from"]]
    if values.get("year_to") is not None:
        rows = [r for r in rows if r["year"] <= values["year_to"]]
    if values.get("month_from"):
        rows = [r for r in rows if r["month"] >= values["month_from"]]
    if values.get("month_to"):
        rows = [r for r in rows if r["month"] <= values["month_to"]]
    if values.get("contract_type"):
        rows = [r for r in rows if r["contract_type"] == values["contract_type"]]
    if values.get("center"):
        center = _center_by_code(values["center"])
        if center.depth > 1:
            raise NotFound(openapi.NOT_A_CITY)
        rows = [r for r in rows if r["center"] == center.code]
    return rows


def _stats_view(name):
    def view():
        values = p.parse(request.args, [*STATS_PARAMS[name], p.PAGE, p.PER_PAGE])
        result = public.published()
        table = result.tables[name]
        rows = selected_rows(table, values)
        chosen = dataclasses.replace(table, rows=_slice(rows, values))
        extra = STATS_EXTRA.get(name, ("suppressed", "suppressed_by"))
        body = _page(values, len(rows), to_items(chosen, extra))
        body["covers_until"] = result.last_month
        return jsonify(body)

    view.__name__ = "stats_" + name.replace("-", "_")
    return view


for _name in STATS_PARAMS:
    api_bp.add_url_rule(f"/stats/{_name}", view_func=_stats_view(_name), methods=["GET"])

# Registered once, at the first import, before the blueprint is registered on an app.
bp.register_blueprint(api_bp)
