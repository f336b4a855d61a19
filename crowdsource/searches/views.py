"""Saved searches: save the task list's search, list and delete one's own, and stop a
search's e-mails from the link in them (no sign-in needed)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.db import db, transaction
from crowdsource.errors import DomainError
from crowdsource.extensions import csrf
from crowdsource.searches import bp, services
from crowdsource.searches.models import SavedSearch
from crowdsource.tasks.forms import STATUS_FILTERS
from crowdsource.web import ConfirmForm, require_valid


def _index(error=None, status=200):
    choices = services.center_choices()
    searches = [
        (search, services.describe(search, choices))
        for search in services.searches_of(current_user)
    ]
    html = render_template(
        "searches/index.html",
        searches=searches,
        confirm=ConfirmForm(),
        error=error,
        status_labels=STATUS_FILTERS,
        list_path=services.list_path,
    )
    return html, status


@bp.get("/searches")
@login_required
def index():
    return _index()


@bp.post("/searches")
@login_required
def save():
    require_valid(ConfirmForm())
    try:
        with transaction():
            services.save_search(current_user, request.form)
    except DomainError as error:
        return _index(error.message, error.status_code)
    flash(_("Search saved. You get an e-mail each day when new tasks match it."), "success")
    return redirect(url_for("searches.index"))


@bp.post("/searches/<int:search_id>/delete")
@login_required
def delete(search_id):
    require_valid(ConfirmForm())
    with transaction():
        search = services.require_owner(current_user, db.session.get(SavedSearch, search_id))
        services.delete_search(current_user, search)
    flash(_("The saved search is deleted."), "info")
    return redirect(url_for("searches.index"))


@bp.route("/searches/stop/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token):
    """The link of a digest. A person confirms with a button (CSRF-checked); a mail client's
    one-click unsubscribe (RFC 8058) posts ``List-Unsubscribe=One-Click``: the signed token is
    what authorizes either."""
    search = services.search_of_token(token)
    form = ConfirmForm()
    if request.method == "GET":
        return render_template("searches/unsubscribe.html", form=form, done=False)
    if request.form.get("List-Unsubscribe") != "One-Click":
        require_valid(form)
    with transaction():
        services.stop_alerts(search)
    return render_template("searches/unsubscribe.html", form=form, done=True)
