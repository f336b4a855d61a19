"""Small helpers shared by the views of every package, and the checks every request passes."""

import re
from urllib.parse import urlsplit

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter

from crowdsource.db import MAX_PAGE, db

#: status of a page that shows a form again because of bad input
INVALID_FORM_STATUS = 400
#: the largest id of a row: ids are INTEGER columns (32 bits on PostgreSQL)
MAX_ID = 2**31 - 1
#: control characters (C0 and DEL): no name has a use for them (a path, the name of a
#: parameter, a field or a file), and a header cannot carry a line break
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
#: in a query parameter's value (a search box, a link) a tab may stand; a line break may not:
#: browsers drop line breaks from one-line inputs, so only a made-up address carries one
LINE_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: in typed text (a form field's value, a string of a JSON body) tabs and line breaks are
#: text; a carriage return only before a line feed (browsers send a textarea's line breaks as
#: CRLF), never alone
TEXT_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")


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


class QueryArguments:
    """The query parameters a page reads, each checked: a value that is not valid is left
    out, a notice on the page says so and the page is served with a 400 (``status``). For a
    download (``download=True``), which has no page to show a notice on, such a value is a
    400 that says why."""

    def __init__(self, download=False):
        self.download = download
        self.refused = False

    @property
    def status(self):
        return INVALID_FORM_STATUS if self.refused else 200

    def page(self):
        """The page of a list that ``?page=`` asks for (from 1); the first when absent."""
        text = request.args.get("page", "")
        number = int(text) if re.fullmatch(r"[0-9]{1,9}", text) else 0
        if 1 <= number <= MAX_PAGE:
            return number
        if text:
            self._refuse(
                _(
                    "There is no page “%(value)s” (pages are numbered 1 to %(max)d): the first "
                    "page is shown.",
                    value=_clipped(text),
                    max=MAX_PAGE,
                )
            )
        return 1

    def choice(self, name, choices):
        """The value of ``?name=`` when it is one of ``choices``; None when absent or empty."""
        text = request.args.get(name, "")
        if text in choices:
            return text
        if text:
            self._refuse(
                _(
                    "The address asks for %(name)s “%(value)s”, which is none of: %(choices)s. "
                    "It is ignored.",
                    name=name,
                    value=_clipped(text),
                    choices=", ".join(choices),
                )
            )
        return None

    def ids(self, name):
        """The ids ``?name=`` gives (it may be repeated), in order; a value that is no id is
        left out with a notice."""
        found = []
        for text in request.args.getlist(name):
            if re.fullmatch(r"[0-9]{1,19}", text) and 0 < int(text) <= MAX_ID:
                found.append(int(text))
            else:
                self._refuse(
                    _(
                        "The address asks for %(name)s “%(value)s”, which is no number of an "
                        "item here. It is ignored.",
                        name=name,
                        value=_clipped(text),
                    )
                )
        return found

    def refuse(self, message):
        """A notice that the request asked for something the page cannot show (served with a
        400, or for a download a 400 that says why)."""
        self._refuse(message)

    def _refuse(self, message):
        if self.download:
            abort(400, message)
        flash(message, "warning")
        self.refused = True


def _clipped(text, length=40):
    """A value typed into the address, short enough to be quoted in a message."""
    return text if len(text) <= length else text[: length - 1] + "…"


def form_page(html, form):
    """A rendered form page with the status that says whether its input was refused."""
    return html, (INVALID_FORM_STATUS if form.errors else 200)


class IdConverter(IntegerConverter):
    """``<int:…>`` in routes: a number too large to be an id names nothing (404), instead of
    reaching the database, which refuses it ("integer out of range")."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def _json_parts(value, key=None):
    """(kind, name, text) of every string in a JSON value at any depth: its keys (names) and
    its string values (text, named by their key)."""
    if isinstance(value, str):
        yield "json_text", key, value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield "json_key", None, name
            yield from _json_parts(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _json_parts(item, key)


def _request_parts():
    """(kind, name, text) for every piece of text of the request that a view could read."""
    yield "path", None, request.path
    for name, value in request.args.items(multi=True):
        yield "query_name", None, name
        yield "query_value", name, value
    for name, value in request.form.items(multi=True):
        yield "field_name", None, name
        yield "field_value", name, value
    for name, upload in request.files.items(multi=True):
        yield "field_name", None, name
        yield "file_name", upload.filename, upload.filename or ""
    if request.is_json:
        yield from _json_parts(request.get_json(silent=True))


#: by kind of text: the control characters it may not contain
_REFUSED_IN = {
    "path": CONTROL_CHARACTERS,
    "query_name": CONTROL_CHARACTERS,
    "query_value": LINE_CONTROL_CHARACTERS,
    "field_name": CONTROL_CHARACTERS,
    "field_value": TEXT_CONTROL_CHARACTERS,
    "file_name": CONTROL_CHARACTERS,
    "json_key": CONTROL_CHARACTERS,
    "json_text": TEXT_CONTROL_CHARACTERS,
}


def _refusal(kind, name, code):
    """What a request with control character ``code`` in a text of ``kind`` is told."""
    if kind in ("path", "query_name"):
        return _(
            "The address contains a control character (code %(code)d), which is not accepted.",
            code=code,
        )
    if kind == "query_value":
        return _(
            "The address contains a control character (code %(code)d) in its parameter "
            "%(name)s, which is not accepted.",
            code=code,
            name=name,
        )
    if kind == "file_name":
        return _(
            "The name of the file %(name)s contains a control character (code %(code)d), "
            "which is not accepted. Rename the file and try again.",
            code=code,
            name=name,
        )
    if kind == "field_value" and name:
        return _(
            "The field %(name)s contains a control character (code %(code)d), which is not "
            "accepted. Remove it and send the form again.",
            code=code,
            name=name,
        )
    return _(
        "The request contains a control character (code %(code)d), which is not accepted.",
        code=code,
    )


def refuse_control_characters():
    """Before every request: a control character in the path, a query parameter, a form field,
    a file name or a JSON body gets a 400 that says where, and no view sees it.

    Names (the path, the names of parameters and fields, file names, JSON keys) may contain
    none; a query parameter's value may contain a tab; typed text (a form field's value, a
    JSON string) may contain tabs and line breaks (CRLF: a carriage return only before a line
    feed). PostgreSQL refuses NUL in text, a header cannot carry a line break, and the rest
    has no use but to hide text from the people who read it."""
    for kind, name, text in _request_parts():
        found = _REFUSED_IN[kind].search(text)
        if found:
            abort(400, _refusal(kind, shown(name or ""), ord(found.group()[0])))


def shown(text):
    """``text`` with its control characters replaced by U+FFFD, to be shown in a message."""
    return CONTROL_CHARACTERS.sub("\ufffd", text)
