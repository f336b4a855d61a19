"""Password policy and hashing.

A password has at least 10 characters and is not one of the 30,000 most common passwords
(zxcvbn's frequency list, compared ignoring case), nor the user's own email or name (compared
ignoring case and width, as identity compares addresses).
Hashes are werkzeug's (scrypt by default).
"""

from functools import cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from crowdsource.accounts import identity

MIN_LENGTH = 10


@cache
def _common_passwords():
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def weakness(password, email="", display_name=""):
    """Why ``password`` is not acceptable, as a message for the user, or None if it is."""
    if len(password) < MIN_LENGTH:
        return _l("Use at least %(count)d characters.", count=MIN_LENGTH)
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(lowered)) < 3:
        return _l("This password is too common. Choose one that is harder to guess.")
    email = identity.normalize_email(email)
    personal = {email, email.split("@")[0], identity.fold(identity.normalize_name(display_name))}
    if identity.fold(password) in personal - {""}:
        return _l("Do not use your email or name as your password.")
    return None


def hash_password(password):
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash, password):
    return check_password_hash(password_hash, password)
