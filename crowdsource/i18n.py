"""The language and time zone of each request."""

import flask_babel
from babel import Locale
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user


def select_locale():
    """The user's preference, else the language chosen in this session, else Accept-Language."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return None
    if current_user.is_authenticated:
        return str(current_user.locale)
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages)


def current_language():
    """The code (one of LANGUAGES, e.g. "zh_CN") of the language this response is in."""
    locale = get_locale()
    for code in current_app.config["LANGUAGES"]:
        if locale is not None and Locale.parse(code) == locale:
            return code
    return current_app.config["LANGUAGES"][0]


def select_timezone():
    if has_request_context() and current_user.is_authenticated:
        return current_user.timezone
    return None


#: named formats of a moment whose time Babel writes with seconds (or a zone name): shown to
#: the minute instead; "short" already is
MINUTE_FORMATS = ("medium", "long", "full")


def minute_pattern(locale, format="medium"):
    """The locale's pattern of a date and time in ``format`` with the time to the minute
    ("Dec 4, 2026, 3:11 PM", "2026年12月4日 15:11"): nobody needs the seconds of a deadline."""
    if format not in MINUTE_FORMATS:
        return format
    combined = locale.datetime_formats[format]
    date = locale.date_formats[format].pattern
    time = locale.time_formats["short"].pattern
    return combined.replace("{1}", date).replace("{0}", time)


def format_moment(value, format="medium", rebase=True):
    """A moment in the current language (and, with ``rebase``, the reader's time zone), to the
    minute: the ``datetimeformat`` filter of every template."""
    if value is None:
        return ""
    locale = get_locale() or Locale.parse(current_app.config["BABEL_DEFAULT_LOCALE"])
    return flask_babel.format_datetime(value, minute_pattern(locale, format), rebase=rebase)
