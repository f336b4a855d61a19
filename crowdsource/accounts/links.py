"""Links mailed to an address: one to set a new password when it is forgotten, one to prove
that an address is the user's (at registration and on every change of address).

A link is an :class:`AccountLink` row and a code ``"<id>-<token>"``, the token an HMAC of the
row's nonce under SECRET_KEY: the table alone cannot forge a link, and the mail job derives
the same code again when it is retried. A link works once, until ``expires_at``, and only while
it is the newest of its purpose (a new one spends the older ones); a reset link also stops
working when the address changes. At most ``ACCOUNT_LINKS_PER_HOUR`` links of one purpose are
mailed to one account per hour.

Asking for a reset says the same whether or not the address has an account (the page cannot be
used to find out who is registered); the mail goes only where an account exists.
"""

import base64
import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crowdsource import mail, outbox
from crowdsource.accounts import passwords, sessions
from crowdsource.accounts.models import AccountLink, LinkPurpose, LoginAttempt, User
from crowdsource.accounts.services import find_user_by_email, normalize_email
from crowdsource.db import db, lock, utcnow
from crowdsource.errors import Conflict, DomainError, TooManyAttempts
from crowdsource.mail import external_url
from crowdsource.outbox import enqueue

#: a link's lifetime, by purpose: the setting that gives it, in which unit
LIFETIMES = {
    LinkPurpose.RESET_PASSWORD: ("PASSWORD_RESET_MINUTES", "minutes"),
    LinkPurpose.VERIFY_EMAIL: ("EMAIL_VERIFICATION_HOURS", "hours"),
}

INVALID_LINK = _l(
    "This link does not work any more: it was used, replaced by a newer one or is too old. "
    "Ask for a new one."
)


def _token(link):
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{link.id}:{link.purpose}:{link.nonce}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def code_of(link):
    """The code a link's URL carries."""
    return f"{link.id}-{_token(link)}"


def _lifetime(purpose):
    setting, unit = LIFETIMES[purpose]
    return dt.timedelta(**{unit: current_app.config[setting]})


def _recent_count(user, purpose, now):
    return db.session.scalar(
        sa.select(sa.func.count(AccountLink.id)).where(
            AccountLink.user_id == user.id,
            AccountLink.purpose == purpose,
            AccountLink.created_at > now - dt.timedelta(hours=1),
        )
    )


def _issue(user, purpose, email, now):
    """A new link for ``user`` (locked), mailed once this commits; the older unused links of
    the purpose are spent. Raises TooManyAttempts past the hourly limit."""
    if _recent_count(user, purpose, now) >= current_app.config["ACCOUNT_LINKS_PER_HOUR"]:
        raise TooManyAttempts(
            _l("We have sent several links in the last hour. Wait a while and try again."),
            retry_after=3600,
        )
    db.session.execute(
        sa.update(AccountLink)
        .where(
            AccountLink.user_id == user.id,
            AccountLink.purpose == purpose,
            AccountLink.used_at.is_(None),
        )
        .values(used_at=now),
        execution_options={"synchronize_session": "fetch"},
    )
    link = AccountLink(
        user_id=user.id,
        purpose=purpose,
        email=email,
        nonce=secrets.token_hex(16),
        created_at=now,
        expires_at=now + _lifetime(purpose),
    )
    db.session.add(link)
    db.session.flush()
    enqueue(
        "crowdsource.accounts.jobs:send_link_email",
        link.id,
        queue=outbox.MAIL,
        retry_intervals=mail.RETRY_INTERVALS,
    )
    return link


def find(code, purpose, now=None):
    """The live link of ``code`` for ``purpose``, or None: unknown, forged, spent, expired,
    its account gone or unable to sign in, or (a reset) mailed to an address no longer the
    account's."""
    link_id, _, token = (code or "").partition("-")
    if not link_id.isdigit() or len(link_id) > 10 or not token:
        return None
    link = db.session.get(AccountLink, int(link_id))
    if link is None or link.purpose != purpose:
        return None
    if not hmac.compare_digest(token, _token(link)):
        return None
    if link.used_at is not None or (now or utcnow()) >= link.expires_at:
        return None
    user = link.user
    if not user.active:
        return None
    if purpose == LinkPurpose.RESET_PASSWORD and link.email != user.email:
        return None
    return link


def _spend(code, purpose, now):
    """The link of ``code``, locked and marked used; DomainError when it does not work."""
    found = find(code, purpose, now)
    link = lock(AccountLink, found.id) if found is not None else None
    if link is None or find(code, purpose, now) is None:
        raise DomainError(INVALID_LINK)
    link.used_at = now
    return link


# --- a forgotten password ----------------------------------------------------------------------


def request_password_reset(email, now=None):
    """Mail a reset link to the account of ``email``, if there is one that may sign in; says
    nothing either way. Past the hourly limit no more mail goes out, silently too."""
    now = now or utcnow()
    user = find_user_by_email(email)
    if user is None or not user.active:
        return
    user = lock(User, user.id)
    try:
        with db.session.begin_nested():
            _issue(user, LinkPurpose.RESET_PASSWORD, user.email, now)
    except TooManyAttempts:
        pass


def reset_password(code, new_password, now=None):
    """Set the password of the link's account and spend the link; every session of the
    account ends, and its failed logins no longer lock it. Returns the user.

    Raises DomainError when the link does not work or the password is too weak (at
    ``password``)."""
    now = now or utcnow()
    link = _spend(code, LinkPurpose.RESET_PASSWORD, now)
    user = link.user
    problem = passwords.weakness(new_password, user.email, user.display_name)
    if problem:
        raise DomainError(problem, field="password")
    user.password_hash = passwords.hash_password(new_password)
    # whoever opened the mailbox owns the address: it is verified now, if it was not
    if user.email_verified_at is None:
        user.email_verified_at = now
    sessions.end_all(user, now)
    # a success ends the run of failures the account throttle counts
    db.session.add(LoginAttempt(email=user.email, succeeded=True, ip=None, at=now))
    db.session.flush()
    return user


# --- proving an address ------------------------------------------------------------------------


def send_verification(user, email=None, now=None):
    """Mail a link that verifies ``email`` (default: the user's own address). Raises
    TooManyAttempts past the hourly limit. Returns the link."""
    return _issue(
        lock(User, user.id), LinkPurpose.VERIFY_EMAIL, email or user.email, now or utcnow()
    )


def verify_email(code, now=None):
    """Mark the link's address as the user's, verified; for a change of address the account
    takes the new address. Returns the user. Raises DomainError when the link does not work,
    Conflict when another account took the address meanwhile."""
    now = now or utcnow()
    link = _spend(code, LinkPurpose.VERIFY_EMAIL, now)
    user = link.user
    if link.email != user.email:
        taken = find_user_by_email(link.email)
        if taken is not None and taken.id != user.id:
            raise Conflict(_l("Another account uses this email address now."))
        user.email = link.email
    user.email_verified_at = now
    db.session.flush()
    return user


def request_email_change(user, new_email, password, now=None):
    """Mail a link to ``new_email``; the account's address changes when it is opened. Raises
    DomainError for a wrong password (at ``password``) or the same address (at
    ``email``), Conflict when another account has it, TooManyAttempts past the limit."""
    if not passwords.verify_password(user.password_hash, password):
        raise DomainError(_l("The password is wrong."), field="password")
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise DomainError(_l("This is your address already."), field="email")
    if find_user_by_email(new_email) is not None:
        raise Conflict(_l("An account with this email already exists."), field="email")
    return send_verification(user, new_email, now)


def pending_address(user, now=None):
    """The address the user asked to change to and has not verified yet, or None."""
    link = db.session.scalar(
        sa.select(AccountLink)
        .where(
            AccountLink.user_id == user.id,
            AccountLink.purpose == LinkPurpose.VERIFY_EMAIL,
            AccountLink.used_at.is_(None),
            AccountLink.expires_at > (now or utcnow()),
            AccountLink.email != user.email,
        )
        .order_by(AccountLink.id.desc())
        .limit(1)
    )
    return link.email if link is not None else None


def compose_mail(link_id):
    """``(to, subject, body, message_id)`` of a link's mail, or None when none is due (sent
    already, or the link no longer works). The job that sends it calls this."""
    link = db.session.get(AccountLink, link_id)
    if link is None or link.emailed_at is not None or find(code_of(link), link.purpose) is None:
        return None
    user = link.user
    code = code_of(link)
    with force_locale(str(user.locale)):
        if link.purpose == LinkPurpose.RESET_PASSWORD:
            subject = _("Set a new password for Crowdsource")
            body = _(
                "Someone (we hope you) asked to set a new password for your Crowdsource "
                "account.\n\nSet it here within %(minutes)d minutes: %(url)s\n\n"
                "If you did not ask for it, ignore this message: your password stays as it is.",
                minutes=current_app.config["PASSWORD_RESET_MINUTES"],
                url=external_url("accounts.reset_password", code=code),
            )
        else:
            subject = _("Confirm your email address for Crowdsource")
            body = _(
                "Confirm that %(email)s is your address by opening this link within %(hours)d "
                "hours: %(url)s\n\nUntil then you can browse and ask questions, but not post "
                "tasks, bid or be paid.",
                email=link.email,
                hours=current_app.config["EMAIL_VERIFICATION_HOURS"],
                url=external_url("accounts.verify_email", code=code),
            )
    message_id = link.email_message_id or mail.message_id("account-link", link.id)
    return link.email, subject, body, message_id
