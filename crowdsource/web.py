"""Small helpers shared by the views of every package, and the checks every request passes."""

import re
from urllib.parse import urlsplit

from flask import Response, abort, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter

from crowdsource.db import db

#: status of a page that shows a form again because of bad input
INVALID_FORM_STATUS = 400
#: the largest id of a row: ids are INTEGER columns (32 bits on PostgreSQL)
MAX_ID = 2**31 - 1
#: control characters (C0 and DEL): no place in a URL, and a header cannot carry a newline
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class ConfirmForm(FlaskForm):
    """A button's form: only the CSRF token."""


def require_valid(form):
    """A form with no place on the page to show its messages (a button's: only its CSRF token)
    must validate; else a 400 page that says why. Returns the form."""
    if not form.validate_on_submit():
        messages = [str(m) for errors in form.errors.values() for m in errors]
        abort(400, " ".join(messages) or _l("Check the form."))
    return form


def get_or_404(model, object_id):
    """The ``model`` row with ``object_id``, or a 404 page."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def csv_download(text, filename):
    """A CSV text as a file to download."""
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def is_safe_next(target):
    """True when ``target`` is a path on this site (not another host, not a scheme) without
    control characters (a newline cannot go into the Location header; browsers drop tabs and
    newlines, so "/\\t/host" would be another host)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if CONTROL_CHARACTERS.search(target):
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


class IdConverter(IntegerConverter):
    """``<int:…>`` in routes: a number too large to be an id names nothing (404), instead of
    reaching the database, which refuses it ("integer out of range")."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def _strings_of(value):
    """Every string in a JSON value: keys and values, at any depth."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_of(item)


def _request_strings():
    yield request.path
    # The open-data API checks its query parameters itself, naming each (stats/params.py).
    query = () if request.path.startswith("/api/") else (request.args,)
    for values in (*query, request.form):
        for name, value in values.items(multi=True):
            yield name
            yield value
    for name, upload in request.files.items(multi=True):
        yield name
        yield upload.filename or ""
    if request.is_json:
        yield from _strings_of(request.get_json(silent=True))


def refuse_nul_characters():
    """Before every request: a NUL character in the path, a query or form argument, a file
    name or a JSON string gets a 400. No input has a use for it, and PostgreSQL refuses it in
    text, which would turn the query it reaches into an error page of our own."""
    if any("\x00" in text for text in _request_strings()):
        abort(400, _l("The request contains a NUL character (code 0), which is not accepted."))
