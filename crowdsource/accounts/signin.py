"""Signing in and out on this browser: a server-side session (crowdsource.accounts.sessions)
and Flask-Login's cookies that name it. Used by the views of registration, login, a reset and
logout."""

import datetime as dt

from flask import current_app, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from crowdsource.accounts import sessions, two_factor
from crowdsource.accounts.models import UserSession
from crowdsource.db import db, transaction, utcnow
from crowdsource.throttle import client_address

#: where the Flask session keeps a login that waits for its second factor
PENDING = "two_factor_pending"


def sign_in(user, remember=False):
    """Sign ``user`` in on this browser with a new session of their own."""
    session.pop(PENDING, None)
    with transaction():
        sessions.start(user, client_address(), request.user_agent.string, remember)
    login_user(user, remember=remember)


def sign_out():
    """End this browser's session on the server, then forget it in the cookies: a copy of the
    session or remember-me cookie names nobody afterwards."""
    if current_user.is_authenticated and current_user.current_session is not None:
        with transaction():
            sessions.end(db.session.get(UserSession, current_user.current_session.id))
    logout_user()


def record_session_use():
    """Before any view: note when (and from where) the signed-in session was last used."""
    if not current_user.is_authenticated or current_user.current_session is None:
        return
    session, ip = current_user.current_session, client_address()
    if sessions.needs_touch(session, ip):
        with transaction():
            sessions.touch(session.id, ip)


def after_password(user, remember=False):
    """The right password was given: sign in, or, when the user has a second factor, wait
    for its code (in the signed session, for TWO_FACTOR_PENDING_MINUTES). Returns the
    redirect to the second step, or None when signed in."""
    if not two_factor.is_enabled(user):
        sign_in(user, remember)
        return None
    session[PENDING] = {"user": user.id, "remember": bool(remember), "at": utcnow().timestamp()}
    target = request.values.get("next")
    if target:
        return redirect(url_for("accounts.two_factor_login", next=target))
    return redirect(url_for("accounts.two_factor_login"))


def pending_second_step():
    """``(user, remember)`` of the login waiting for its second factor, or ``(None, False)``
    when none waits (or it waited too long, or the user may no longer sign in)."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None, False
    minutes = current_app.config["TWO_FACTOR_PENDING_MINUTES"]
    try:
        started = dt.datetime.fromtimestamp(float(pending.get("at", 0)), dt.UTC)
    except (TypeError, ValueError, OverflowError):
        started = None
    if started is None or utcnow() - started > dt.timedelta(minutes=minutes):
        session.pop(PENDING, None)
        return None, False
    return two_factor.user_pending(pending.get("user")), bool(pending.get("remember"))
