"""Statistics pages: the public market statistics, the dashboard of center managers and the
admin, and a CSV download of every table of both."""

import sqlalchemy as sa
from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from crowdsource.accounts import authz, centers
from crowdsource.accounts.models import Center
from crowdsource.db import db
from crowdsource.stats import bp, figures, periods, public
from crowdsource.stats.disclosure import Rules
from crowdsource.stats.forms import DashboardForm
from crowdsource.stats.tables import display, not_shown_note, reason_mark, to_csv
from crowdsource.tasks.models import ContractType


def _csv(table, filename):
    return Response(
        to_csv(table),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


@bp.app_template_global("suppression_mark")
def suppression_mark(column, row):
    return reason_mark(column, row)


# --- public --------------------------------------------------------------------------------


@bp.get("/statistics")
def public_statistics():
    result = public.published()
    return render_template(
        "stats/public.html",
        published=result,
        tables=public.with_charts(result.tables),
        display=display,
        not_shown_note=not_shown_note(Rules.configured()),
    )


@bp.get("/statistics/<name>.csv")
def public_csv(name):
    table = public.published().tables.get(name)
    if table is None:
        abort(404)
    return _csv(table, f"crowdsource-{name}")


# --- dashboard -----------------------------------------------------------------------------


def _visible_centers():
    """The centers the reader may see figures of (parents before children), or 403."""
    if current_user.is_admin:
        return centers.all_centers()
    managed = authz.managed_center_ids(current_user)
    visible = db.session.scalars(
        sa.select(Center).where(Center.id.in_(managed)).order_by(Center.path)
    ).all()
    if not visible:
        abort(403)
    return visible


def _filters(visible):
    """The filters from the query string (defaults: the last three years, every center the
    reader manages, every type); (form, Filters or None when the input is not valid)."""
    year = periods.current_year()
    args = MultiDict(request.args)
    args.setdefault("year_from", str(year - 2))
    args.setdefault("year_to", str(year))
    form = DashboardForm(args)
    everything = _("All centers") if current_user.is_admin else _("All my centers")
    form.center_id.choices = [SelectChoice("", everything)] + [
        SelectChoice(str(c.id), "\u3000" * c.depth + c.name) for c in visible
    ]
    if not form.validate():
        return form, None, visible
    scope = None if current_user.is_admin else authz.managed_center_ids(current_user)
    if form.center_id.data:
        center = next(c for c in visible if str(c.id) == form.center_id.data)
        scope = centers.subtree_query(center)
        visible = [c for c in visible if c.path.startswith(center.path)]
    contract_type = ContractType(form.contract_type.data) if form.contract_type.data else None
    filters = figures.Filters(form.year_from.data, form.year_to.data, scope, contract_type)
    return form, filters, visible


@bp.get("/statistics/dashboard")
@login_required
def dashboard():
    form, filters, visible = _filters(_visible_centers())
    sections = figures.dashboard(filters, visible) if filters else []
    page = render_template(
        "stats/dashboard.html",
        form=form,
        filters=filters,
        sections=sections,
        display=display,
        query=request.query_string.decode(),
    )
    return page, (200 if filters else 400)


@bp.get("/statistics/dashboard/<name>.csv")
@login_required
def dashboard_csv(name):
    form, filters, visible = _filters(_visible_centers())
    if filters is None:
        message = " ".join(str(m) for errors in form.errors.values() for m in errors)
        abort(400, message)
    table = figures.all_tables(figures.dashboard(filters, visible)).get(name)
    if table is None:
        abort(404)
    return _csv(table, f"crowdsource-dashboard-{name}")
