"""The language and time zone of each request."""

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
