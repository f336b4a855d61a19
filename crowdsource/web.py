"""Small helpers shared by the views of every package."""

from urllib.parse import urlsplit

from flask import abort, redirect, request, url_for
from flask_wtf import FlaskForm

from crowdsource.db import db

#: status of a page that shows a form again because of bad input
INVALID_FORM_STATUS = 400


class ConfirmForm(FlaskForm):
    """A button's form: only the CSRF token."""


def get_or_404(model, object_id):
    """The ``model`` row with ``object_id``, or a 404 page."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def is_safe_next(target):
    """True when ``target`` is a path on this site (not another host, not a scheme)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and "\\" not in target


def redirect_next(default_endpoint, **values):
    """Redirect to the local ``next`` of the request, else to ``default_endpoint``."""
    target = request.values.get("next")
    if is_safe_next(target):
        return redirect(target)
    return redirect(url_for(default_endpoint, **values))


def form_page(html, form):
    """A rendered form page with the status that says whether its input was refused."""
    return html, (INVALID_FORM_STATUS if form.errors else 200)
