"""Account services: registration, login with throttling, passwords and profiles.

Each function changes the session's objects and flushes; the caller's transaction commits.
E-mail addresses and display names are stored as crowdsource.accounts.identity normalises them.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from crowdsource.accounts import identity, login_limits, passwords, sessions
from crowdsource.accounts.identity import normalize_email
from crowdsource.accounts.models import Language, LoginAttempt, User
from crowdsource.db import db, utcnow
from crowdsource.errors import Conflict, DomainError
from crowdsource.text import split_tags

MAX_SKILLS = 20
MAX_SKILL_LENGTH = 40

# A hash to check against when the account does not exist, so both cases take as long.
_ABSENT_USER_HASH = None


#: the longest display name and e-mail address stored (the columns' lengths)
DISPLAY_NAME_LENGTH = User.__table__.c.display_name.type.length
EMAIL_LENGTH = User.__table__.c.email.type.length


def find_user_by_email(email):
    """The user registered with ``email`` (compared as identity.normalize_email has it)."""
    return db.session.scalar(sa.select(User).filter_by(email=normalize_email(email)))


def register_user(
    email, password, display_name, locale=Language.ZH_CN, timezone=None, email_verified_at=None
):
    """Create an account; raises Conflict if the email (ignoring case and width) is taken and
    DomainError if the password is too weak or the display name empty or too long. Its address
    is not verified (until the link mailed to it is opened) unless ``email_verified_at`` says
    when it was (an operator's command vouches for the address it was given)."""
    email = normalize_email(email)
    if len(email) > EMAIL_LENGTH:  # NFKC may lengthen it
        raise DomainError(_l("Use at most %(max)d characters.", max=EMAIL_LENGTH), field="email")
    display_name = identity.clean_name(display_name, "display_name", DISPLAY_NAME_LENGTH)
    problem = passwords.weakness(password, email, display_name)
    if problem:
        raise DomainError(problem, field="password")
    user = User(
        email=email,
        password_hash=passwords.hash_password(password),
        display_name=display_name,
        locale=Language(locale),
        timezone=timezone or "Asia/Shanghai",
        skills=[],
        email_verified_at=email_verified_at,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise Conflict(_l("An account with this email already exists."), field="email") from None
    return user


def authenticate(email, password, ip=None, now=None):
    """Check a login and record the attempt.

    Returns the user, or None for a wrong email or password (the failure is recorded).
    Raises TooManyAttempts, without checking the password, past a limit on tries at the
    account or from the client ``ip`` (crowdsource.accounts.login_limits).
    """
    email = normalize_email(email)
    # An address that NFKC made longer than any account's has its attempts kept under its start.
    attempted = email[:EMAIL_LENGTH]
    counted = login_limits.begin(attempted, ip or "unknown")
    user = find_user_by_email(email)
    if user is None:
        passwords.verify_password(_absent_user_hash(), password)
        ok = False
    else:
        ok = passwords.verify_password(user.password_hash, password) and user.is_active
    db.session.add(LoginAttempt(email=attempted, succeeded=ok, ip=ip, at=now or utcnow()))
    db.session.flush()
    if ok:
        counted.succeeded()
    return user if ok else None


def is_suspended_with(email, password):
    """True when ``email`` names a suspended account and ``password`` is its password: the
    login page may then say why it cannot sign in (anyone else learns nothing)."""
    user = find_user_by_email(email)
    if user is None or user.active or user.suspended_at is None:
        return False
    return passwords.verify_password(user.password_hash, password)


def _absent_user_hash():
    global _ABSENT_USER_HASH
    if _ABSENT_USER_HASH is None:
        _ABSENT_USER_HASH = passwords.hash_password("absent-user-password")
    return _ABSENT_USER_HASH


def change_password(user, current_password, new_password, now=None):
    """Set a new password; every other session of the user ends (their cookies name nobody
    any more), the one it was changed in goes on.

    Raises DomainError if the current password is wrong or the new one too weak.
    """
    if not passwords.verify_password(user.password_hash, current_password):
        raise DomainError(_l("The current password is wrong."), field="current_password")
    problem = passwords.weakness(new_password, user.email, user.display_name)
    if problem:
        raise DomainError(problem, field="new_password")
    user.password_hash = passwords.hash_password(new_password)
    sessions.end_all(user, now, keep=user.current_session)
    db.session.flush()


def parse_skills(text):
    """Skill tags from comma-separated text (Chinese or English commas), deduplicated."""
    return split_tags(text)


def update_profile(user, display_name, bio, skills, locale, timezone, email_notifications=True):
    """Change the user's public profile and preferences; raises DomainError on bad skills or a
    display name that is empty or too long once normalised."""
    display_name = identity.clean_name(display_name, "display_name", DISPLAY_NAME_LENGTH)
    if len(skills) > MAX_SKILLS:
        raise DomainError(_l("List at most %(count)d skills.", count=MAX_SKILLS), field="skills")
    if any(len(skill) > MAX_SKILL_LENGTH for skill in skills):
        raise DomainError(
            _l("Each skill may have at most %(count)d characters.", count=MAX_SKILL_LENGTH),
            field="skills",
        )
    user.display_name = display_name
    user.bio = bio or ""
    user.skills = list(skills)
    user.locale = Language(locale)
    user.timezone = timezone
    user.email_notifications = bool(email_notifications)
    db.session.flush()


def set_language(user, locale):
    """Remember the user's UI language."""
    user.locale = Language(locale)
    db.session.flush()
