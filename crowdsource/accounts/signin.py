"""Signing in and out on this browser: a server-side session (crowdsource.accounts.sessions)
and Flask-Login's cookies that name it. Used by the views of registration, login, a reset and
logout."""

from flask import request
from flask_login import current_user, login_user, logout_user

from crowdsource.accounts import sessions
from crowdsource.accounts.models import UserSession
from crowdsource.db import db, transaction
from crowdsource.throttle import client_address


def sign_in(user, remember=False):
    """Sign ``user`` in on this browser with a new session of their own."""
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
