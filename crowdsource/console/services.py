"""What the operator console does: find accounts and organizations, suspend and reactivate an
account (with what that means for its bids and tasks), and read the audit trail.

Suspending is the admin's: the account can no longer sign in, every session of it ends, its
live bids are withdrawn and the tasks it posted that still look for a solver are hidden.
Reactivating lets it sign in again and shows those tasks again; withdrawn bids stay withdrawn
(their tasks moved on). Managers find the organizations of their centers and the members of
those; the admin finds everyone.
"""

import csv
import datetime as dt
import io

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crowdsource import audit
from crowdsource.accounts import authz, sessions
from crowdsource.accounts.identity import normalize_email
from crowdsource.accounts.models import Center, Membership, Organization, User
from crowdsource.audit import AuditEvent
from crowdsource.bids import services as bids
from crowdsource.db import db, lock, utcnow
from crowdsource.errors import Conflict, DomainError, NotAllowed
from crowdsource.tasks import moderation

MAX_REASON = 2000
#: rows a search or a page of the trail shows
PAGE_SIZE = 50


def may_use_console(user):
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_admin or bool(authz.managed_centers(user))
    )


def require_console(user):
    if not may_use_console(user):
        raise NotAllowed()


def _center_condition(user):
    """SQL on Organization: the organizations of the user's centers (all for the admin)."""
    if user.is_admin:
        return sa.true()
    paths = [center.path for center in authz.managed_centers(user)]
    return Organization.center_id.in_(
        sa.select(Center.id).where(sa.or_(*(Center.path.startswith(path) for path in paths)))
    )


def _like(text):
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_organizations(user, text):
    """Organizations whose name contains ``text`` or whose credit code is it, within the
    user's centers."""
    require_console(user)
    text = (text or "").strip()
    query = sa.select(Organization).where(_center_condition(user))
    if text:
        query = query.where(
            sa.or_(
                Organization.name.ilike(_like(text), escape="\\"),
                Organization.credit_code == text.upper(),
            )
        )
    return db.session.scalars(query.order_by(Organization.name).limit(PAGE_SIZE)).all()


def find_users(user, text):
    """Accounts whose name or address contains ``text``: everyone for the admin, the members
    of the organizations of their centers for a manager."""
    require_console(user)
    text = (text or "").strip()
    query = sa.select(User)
    if not user.is_admin:
        members = (
            sa.select(Membership.user_id)
            .join(Organization, Organization.id == Membership.organization_id)
            .where(_center_condition(user))
        )
        query = query.where(User.id.in_(members))
    if text:
        query = query.where(
            sa.or_(
                User.display_name.ilike(_like(text), escape="\\"),
                User.email.ilike(_like(normalize_email(text)), escape="\\"),
            )
        )
    return db.session.scalars(query.order_by(User.display_name, User.id).limit(PAGE_SIZE)).all()


def _clean_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why: it is kept in the audit trail."), field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(_l("Use at most %(max)d characters.", max=MAX_REASON), field="reason")
    return reason


def suspend(actor, user, reason, now=None):
    """Suspend ``user``: no sign-in, every session ended, live bids withdrawn, open tasks
    hidden. Raises NotAllowed for anyone but the admin (and for suspending oneself),
    DomainError without a reason (at ``reason``), Conflict when already suspended."""
    if not actor.is_admin or actor.id == user.id:
        raise NotAllowed()
    reason = _clean_reason(reason)
    now = now or utcnow()
    user = lock(User, user.id)
    if not user.active:
        raise Conflict(_l("This account is suspended already."))
    user.active, user.suspended_at, user.suspension_reason = False, now, reason
    sessions.end_all(user, now)
    withdrawn = bids.withdraw_bids_of(user, actor, reason)
    hidden = moderation.hide_tasks_of(user, actor, reason, now)
    audit.record("user", user.id, "suspended", actor=actor, reason=reason)
    db.session.flush()
    return withdrawn, hidden


def reactivate(actor, user, reason):
    """Let a suspended account sign in again and show its hidden tasks again. Raises
    NotAllowed for anyone but the admin, Conflict when the account is active."""
    if not actor.is_admin:
        raise NotAllowed()
    reason = _clean_reason(reason)
    user = lock(User, user.id)
    if user.active:
        raise Conflict(_l("This account is active."))
    user.active, user.suspended_at, user.suspension_reason = True, None, None
    moderation.restore_tasks_of(user, actor)
    audit.record("user", user.id, "reactivated", actor=actor, reason=reason)
    db.session.flush()
    return user


# --- the audit trail -------------------------------------------------------------------------


def trail_query(actor_text=None, subject=None, action=None, since=None, until=None):
    """The audit events matching the filters, newest first: who (name or address contains
    ``actor_text``), what (``subject``, ``action``), when (``since`` ≤ day ≤ ``until``,
    dates in UTC)."""
    query = sa.select(AuditEvent).options(sa.orm.joinedload(AuditEvent.actor))
    if actor_text:
        actors = sa.select(User.id).where(
            sa.or_(
                User.display_name.ilike(_like(actor_text), escape="\\"),
                User.email.ilike(_like(normalize_email(actor_text)), escape="\\"),
            )
        )
        query = query.where(AuditEvent.actor_id.in_(actors))
    if subject:
        query = query.where(AuditEvent.subject == subject)
    if action:
        query = query.where(AuditEvent.action == action)
    if since:
        start = dt.datetime.combine(since, dt.time(), dt.UTC)
        query = query.where(AuditEvent.created_at >= start)
    if until:
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        query = query.where(AuditEvent.created_at < end)
    return query.order_by(AuditEvent.id.desc())


def subjects_and_actions():
    """The subjects and actions the trail holds, for the filters' choices."""
    subjects = db.session.scalars(sa.select(AuditEvent.subject).distinct()).all()
    actions = db.session.scalars(sa.select(AuditEvent.action).distinct()).all()
    return sorted(subjects), sorted(actions)


#: columns of the CSV export
CSV_COLUMNS = [
    "id",
    "at_utc",
    "actor_id",
    "actor",
    "subject",
    "subject_id",
    "action",
    "from_state",
    "to_state",
    "reason",
]


def trail_csv(query):
    """The events of ``query`` as CSV text (UTC times, ISO 8601). Cells that a spreadsheet
    would read as a formula are prefixed with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for event in db.session.scalars(query.execution_options(yield_per=500)):
        actor = event.actor
        row = [
            event.id,
            event.created_at.isoformat(),
            event.actor_id or "",
            f"{actor.display_name} <{actor.email}>" if actor else "system",
            event.subject,
            event.subject_id,
            event.action,
            event.from_state or "",
            event.to_state or "",
            event.reason or "",
        ]
        writer.writerow([_safe_cell(value) for value in row])
    return out.getvalue()


def _safe_cell(value):
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
