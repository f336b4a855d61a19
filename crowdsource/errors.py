"""Domain errors and the error handlers that turn them, and HTTP errors, into pages or JSON.

Services raise a :class:`DomainError`, which may name the form field it concerns. A view whose
form's action was refused puts the message on the form with :func:`refused` and renders the form
again, with what the user typed, under the error's 4xx status. Elsewhere one handler shows the
message on an error page with its 4xx status, or as ``{"error": ...}`` JSON for API and JSON
clients (with ``"field"`` when one is named).
"""

import datetime as dt
import logging

from flask import g, jsonify, make_response, render_template, request
from flask_babel import format_timedelta
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused the action; the message is shown to the user, at ``field``
    (the name of the form field the rule concerns: ``"amount"``) when one is named."""

    status_code = 400

    def __init__(self, message=None, field=None):
        self.message = message or self.default_message
        #: the name of the form field the refusal concerns, or None (the form as a whole)
        self.field = field
        super().__init__(str(self.message))

    default_message = _l("This action cannot be done.")


class NotAllowed(DomainError):
    """The actor may not do this to this object."""

    status_code = 403
    default_message = _l("You are not allowed to do this.")


class NotFound(DomainError):
    """The object does not exist (or the actor may not know that it does)."""

    status_code = 404
    default_message = _l("Not found.")


class Conflict(DomainError):
    """The action clashes with what is stored (a duplicate, a stale state)."""

    status_code = 409
    default_message = _l("This conflicts with existing data.")


class AlreadyDone(Conflict):
    """The step was already taken (a second click, a retry, a race lost)."""

    default_message = _l("This has already been done.")


class IllegalTransition(Conflict):
    """A state machine was asked for a move its table does not allow."""

    default_message = _l("This action is not possible in the current state.")


class TooManyAttempts(DomainError):
    """The actor tried too often; the message says when to try again."""

    status_code = 429
    default_message = _l("Too many attempts. Please wait and try again.")

    def __init__(self, message=None, retry_after=None, field=None):
        super().__init__(message, field=field)
        #: seconds after which a new attempt may succeed (the Retry-After header)
        self.retry_after = retry_after


def refused(form, error):
    """Put the message of ``error`` (a DomainError refusing the form's action) on ``form``: in
    the errors of the field it names, or, when it names none the form has, in the form's own
    errors (shown at the top of the form). Returns the status to render the form again with
    (the error's: 409 for a conflict, 400 for a broken rule), so that a view reads::

        except DomainError as error:
            status = refused(form, error)

    The view has loaded the object and checked that the user may see it before: what a
    refusal says (even "not allowed") is shown on the form the user may see.
    """
    if getattr(error, "retry_after", None):
        g.retry_after = error.retry_after  # the Retry-After of the page (add_retry_after)
    # As text: a lazy message counts as safe HTML to Jinja (it has __html__), and the names it
    # carries (an organization's, a person's) are what users typed.
    message = str(error.message)
    field = form._fields.get(error.field) if error.field else None
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)
    return error.status_code


# Titles and explanations of the error pages, in the user's language.
ERROR_PAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please try again.")),
    403: (_l("Forbidden"), _l("You do not have permission to see or change this.")),
    404: (_l("Page not found"), _l("There is nothing at this address.")),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Conflict"), _l("This conflicts with existing data.")),
    413: (
        _l("Request too large"),
        _l("What you sent is larger than this site accepts. Send a smaller file or less text."),
    ),
    429: (_l("Too many requests"), _l("Too many attempts. Please wait and try again.")),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error occurred on our side. It has been logged; please try again later."),
    ),
}


def wants_json():
    """True when the client is an API client rather than a browser."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status, message=None, retry_after=None):
    """The error page (or JSON) for ``status``, with a specific message where there is one;
    a 429 says when to try again (``retry_after`` seconds, also the Retry-After header)."""
    title, explanation = ERROR_PAGES.get(status, ERROR_PAGES[400 if status < 500 else 500])
    if wants_json():
        response = make_response(jsonify(error=str(message or explanation)), status)
    elif status == 429:
        wait = dt.timedelta(seconds=retry_after or 0)
        page = render_template(
            "errors/429.html",
            status=status,
            title=title,
            explanation=message or explanation,
            retry_after=retry_after,
            retry_after_text=format_timedelta(wait, threshold=1.1, add_direction=False),
        )
        response = make_response(page, status)
    else:
        page = render_template(
            "errors/error.html", status=status, title=title, explanation=message or explanation
        )
        response = make_response(page, status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def add_retry_after(response):
    """A page refused under 429 (a form shown again as typed) says when to try again."""
    waiting = g.get("retry_after")
    if response.status_code == 429 and waiting and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(waiting)
    return response


def handle_domain_error(error):
    if error.field and wants_json():
        response = make_response(jsonify(error=str(error.message), field=error.field))
        response.status_code = error.status_code
    else:
        retry_after = getattr(error, "retry_after", None)
        return error_response(error.status_code, str(error.message), retry_after)
    if getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def handle_csrf_error(error):
    return error_response(
        400,
        _l("The form has expired or was not sent from this site. Reload the page and try again."),
    )


def handle_http_exception(error):
    if error.code is None or error.code < 400:
        return error
    # abort(status, description) in our views carries a specific reason worth showing.
    specific = error.description if error.description != type(error).description else None
    retry_after = None
    for header, value in error.get_headers():
        if header.lower() == "retry-after" and value.isdigit():
            retry_after = int(value)
    response = error_response(error.code, specific, retry_after)
    for header, value in error.get_headers():
        if header.lower() in ("retry-after", "allow"):
            response.headers[header] = value
    return response


def handle_unexpected_error(error):
    from crowdsource.db import db

    # Flask has logged an unhandled exception already (one record, with its traceback); an
    # InternalServerError raised on purpose it has not.
    if getattr(error, "original_exception", None) is None:
        log.error("internal error on %s %s", request.method, request.path, exc_info=error)
    # After a failed statement PostgreSQL refuses every query of the transaction, and the
    # error page's navigation makes some.
    db.session.rollback()
    return error_response(500)


def register_error_handlers(app):
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_unexpected_error)
    app.after_request(add_retry_after)
