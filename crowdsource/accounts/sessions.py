"""Signed-in sessions, kept on the server so that they can end.

Flask keeps its session in a signed cookie, and Flask-Login the user's id in it and in the
remember-me cookie: alone, a copy of either would keep working after logout. Here every
sign-in is a :class:`UserSession` row; the cookies carry ``"<user id>:<key>"``, and only the
key's hash is stored. The user loader (:func:`load`) accepts a cookie only while its session
has not ended and is not past its time, so logging out, a new password, a password reset or a
suspension (each ends the rows) turns any copy of the cookies into an anonymous visitor.

A session without "remember me" ends after ``SESSION_IDLE_HOURS`` without a request; one with
it ``REMEMBER_COOKIE_DURATION`` after it began. ``last_seen_at`` (and the address) are written
at most once every :data:`TOUCH_SECONDS`, before the view runs.
"""

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app
from ua_parser import parse as parse_user_agent

from crowdsource.accounts.models import UserSession
from crowdsource.db import db, utcnow

#: a session's last request is written at most this often
TOUCH_SECONDS = 60
#: the longest browser or system name stored (the rest of a User-Agent is dropped)
MAX_NAME = 60


def _hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


def _names(user_agent):
    """The browser and the system a User-Agent header names ("Chrome", "Windows")."""
    found = parse_user_agent(user_agent or "")
    browser = found.user_agent.family if found.user_agent else ""
    system = found.os.family if found.os else ""
    return browser[:MAX_NAME], system[:MAX_NAME]


def start(user, ip=None, user_agent=None, remember=False, now=None):
    """A new session of ``user``, made their ``current_session`` (so that Flask-Login's
    login_user stores its key in the cookies); flushed. Returns it."""
    key = secrets.token_urlsafe(32)
    now = now or utcnow()
    browser, system = _names(user_agent)
    session = UserSession(
        user=user,
        key_hash=_hash(key),
        browser=browser,
        system=system,
        ip=ip,
        remember=bool(remember),
        created_at=now,
        last_seen_at=now,
    )
    db.session.add(session)
    db.session.flush()
    session.raw_key = key
    user.current_session = session
    return session


def ends_at(session):
    """When the session ends by itself unless it is used before (idle) or at all (remember)."""
    config = current_app.config
    if session.remember:
        return session.created_at + config["REMEMBER_COOKIE_DURATION"]
    return session.last_seen_at + dt.timedelta(hours=config["SESSION_IDLE_HOURS"])


def is_live(session, now=None):
    return session.ended_at is None and (now or utcnow()) < ends_at(session)


def load(identity, now=None):
    """The user of a cookie's ``"<user id>:<key>"``, with ``current_session`` set, or None
    when the session ended, ran out, belongs to someone else or the user may not sign in."""
    user_id, _, key = (identity or "").partition(":")
    if not user_id.isdigit() or not key or len(key) > 100:
        return None
    session = db.session.scalar(sa.select(UserSession).filter_by(key_hash=_hash(key)))
    if session is None or session.user_id != int(user_id) or not is_live(session, now):
        return None
    user = session.user
    if not user.is_active:
        return None
    session.raw_key = key
    user.current_session = session
    return user


def needs_touch(session, ip, now=None):
    """True when the session's last request (or address) is worth writing again."""
    now = now or utcnow()
    return session.ip != ip or now - session.last_seen_at >= dt.timedelta(seconds=TOUCH_SECONDS)


def touch(session_id, ip, now=None):
    """Record a request of the session (its time and the client's address); flushed."""
    session = db.session.get(UserSession, session_id)
    if session is not None and session.ended_at is None:
        session.last_seen_at = now or utcnow()
        session.ip = ip
        db.session.flush()


def end(session, now=None):
    """End one session (logging out, or its owner ending it from the list); flushed."""
    if session.ended_at is None:
        session.ended_at = now or utcnow()
        db.session.flush()


def end_all(user, now=None, keep=None):
    """End every session of ``user`` but ``keep`` (a new password ends the others, a reset
    or a suspension all of them); returns how many ended. Flushed."""
    statement = (
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
    )
    if keep is not None:
        statement = statement.where(UserSession.id != keep.id)
    ended = db.session.execute(statement, execution_options={"synchronize_session": "fetch"})
    return ended.rowcount


def live_sessions(user, now=None):
    """The user's sessions that have not ended, the most recently used first."""
    now = now or utcnow()
    found = db.session.scalars(
        sa.select(UserSession)
        .filter_by(user_id=user.id, ended_at=None)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return [session for session in found if is_live(session, now)]


def session_of(user, session_id):
    """The user's own session ``session_id``, or None (another user's is nobody's business)."""
    session = db.session.get(UserSession, session_id)
    return session if session is not None and session.user_id == user.id else None
