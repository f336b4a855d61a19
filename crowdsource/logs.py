"""Logs an operator can read: one line per record, and an id that ties a request's lines together.

``configure_logging(app)`` (called by create_app, so also by the worker that builds the app)
sends every record of the process — the app's, RQ's, werkzeug's — to standard error through
one handler, one line each: JSON (``LOG_FORMAT=json``, the default in production) or logfmt
key=value pairs (the default in development). Each line has ``time`` (UTC), ``level``,
``logger`` and ``message``; inside a request its ``request_id``, inside an RQ job its
``job_id``; a traceback is the ``exc`` field of its record, never lines of its own.

Every request has an id: the incoming ``X-Request-ID`` when it is short and plain (a proxy's,
e.g. nginx's ``$request_id``), else a new one. It is ``g.request_id``, goes back in the
response's ``X-Request-ID`` header and so reaches gunicorn's access line (:class:`GunicornLogger`,
named by deploy/gunicorn.conf.py).
"""

import datetime as dt
import json
import logging
import re
import sys
import uuid

import gunicorn.glogging
from flask import g, has_request_context, request
from flask.logging import default_handler

REQUEST_ID_HEADER = "X-Request-ID"
#: an incoming request id is kept only if it is this: short, and nothing a log line must escape
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: a logfmt value written as it is; anything else is quoted and escaped like a JSON string
PLAIN_VALUE = re.compile(r"[^\s\"=\\\x00-\x1f\x7f]+")
#: attributes every LogRecord has; any other one was passed in ``extra`` and becomes a field
RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def configure_logging(app):
    """Send every log record of the process to standard error, formatted as ``LOG_FORMAT``
    says, at ``LOG_LEVEL``. Safe to call again (another app, the worker): the one handler is
    reused, never added twice."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, LineHandler)), None)
    if handler is None:
        handler = LineHandler()
        root.addHandler(handler)
    handler.setFormatter(line_formatter(app.config["LOG_FORMAT"]))
    root.setLevel(app.config["LOG_LEVEL"])
    # Flask's own handler on the app's logger would write each of its records a second time.
    app.logger.removeHandler(default_handler)


def register_request_id(app):
    """Give every request its id (``g.request_id``) and echo it in the response."""
    app.before_request(take_request_id)

    @app.after_request
    def echo_request_id(response):
        if current_request_id() is None:  # a hook before ours answered
            take_request_id()
        response.headers[REQUEST_ID_HEADER] = g.request_id
        return response


def take_request_id():
    """Set ``g.request_id`` to the incoming X-Request-ID if it is valid, else to a new id.
    (A before_request hook: it returns nothing, or Flask would answer with what it returned.)"""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def current_request_id():
    """The id of the request being handled, or None outside a request."""
    return g.get("request_id") if has_request_context() else None


def line_formatter(log_format):
    """The formatter of ``LOG_FORMAT`` (``json`` or ``logfmt``)."""
    return JSONFormatter() if log_format == "json" else LogfmtFormatter()


class LineHandler(logging.StreamHandler):
    """Writes to the standard error of the moment (as logging's last resort does), so that a
    replaced ``sys.stderr`` (a test's capture, a daemon's log file) gets the lines."""

    def __init__(self):
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


class LineFormatter(logging.Formatter):
    """The fields of a record, in order: time, level, logger, message, request_id, job_id,
    the record's ``extra`` fields, and the traceback as ``exc``."""

    def fields(self, record):
        fields = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": current_request_id(),
            "job_id": _current_job_id(),
        }
        for name, value in vars(record).items():
            if name not in RECORD_ATTRIBUTES and not name.startswith("_"):
                fields[name] = value
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            fields["exc"] = record.exc_text
        if record.stack_info:
            fields["stack"] = self.formatStack(record.stack_info)
        return {name: value for name, value in fields.items() if value is not None}


class JSONFormatter(LineFormatter):
    """One JSON object per line."""

    def format(self, record):
        return json.dumps(self.fields(record), ensure_ascii=False, default=str)


class LogfmtFormatter(LineFormatter):
    """``key=value`` pairs on one line; values with spaces, quotes or line breaks are quoted
    and escaped as JSON strings are."""

    def format(self, record):
        return " ".join(f"{name}={_logfmt(value)}" for name, value in self.fields(record).items())


def _logfmt(value):
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if PLAIN_VALUE.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _current_job_id():
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else None


class GunicornLogger(gunicorn.glogging.Logger):
    """gunicorn's logging in the app's line format (``logger_class`` in
    deploy/gunicorn.conf.py): its own messages, and one access record per request with
    the fields method, path, status, bytes, duration_ms, request_id, client and
    user_agent."""

    def setup(self, cfg):
        from crowdsource.config import log_format

        super().setup(cfg)
        formatter = line_formatter(log_format())
        for handler in self.error_log.handlers + self.access_log.handlers:
            handler.setFormatter(formatter)

    def access(self, resp, req, environ, request_time):
        if not self.access_log.handlers:
            return
        headers = {name.lower(): value for name, value in resp.headers}
        fields = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("RAW_URI") or environ.get("PATH_INFO"),
            "status": resp.status_code,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": headers.get(REQUEST_ID_HEADER.lower()),
            # the client, not the proxy: ProxyFix has replaced REMOTE_ADDR by now
            "client": environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        try:
            self.access_log.info(
                "%s %s %s", fields["method"], fields["path"], fields["status"], extra=fields
            )
        except Exception:
            self.error_log.exception("could not write the access log")
