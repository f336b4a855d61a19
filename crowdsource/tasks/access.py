"""Who may see and do what with a task; reused by bids and contracts.

The ``can_*`` functions answer; list pages use :func:`visible_condition` to apply the same
rule in SQL.
"""

import sqlalchemy as sa

from crowdsource.accounts import authz
from crowdsource.db import db
from crowdsource.errors import NotAllowed, NotFound
from crowdsource.tasks.models import (
    PUBLISHED_STATES,
    NdaAcceptance,
    Task,
    TaskInvitation,
    TaskStatus,
    Visibility,
)


def _authenticated(user):
    return user is not None and getattr(user, "is_authenticated", False)


def is_member(user, task):
    """True when the user acts for the enterprise that posted the task."""
    return authz.can_act_for(user, task.organization)


def is_invited(user, task):
    if not _authenticated(user):
        return False
    organization_ids = authz.organization_ids_of(user)
    condition = TaskInvitation.user_id == user.id
    if organization_ids:
        condition = sa.or_(condition, TaskInvitation.organization_id.in_(organization_ids))
    query = sa.select(TaskInvitation.id).where(TaskInvitation.task_id == task.id, condition)
    return db.session.scalar(query.limit(1)) is not None


def _oversees(user, task):
    return _authenticated(user) and (user.is_admin or authz.manages_center_of(user, task))


def can_view(user, task):
    """May the user see the task at all (its title, summary and terms)? A task the platform
    hid is seen by its enterprise and the managers only."""
    if task.hidden_at is not None:
        return is_member(user, task) or _oversees(user, task)
    if task.status == TaskStatus.DRAFT:
        return is_member(user, task) or (_authenticated(user) and user.is_admin)
    if task.visibility == Visibility.PUBLIC:
        return True
    return is_member(user, task) or is_invited(user, task) or _oversees(user, task)


def has_accepted_nda(user, task):
    if not _authenticated(user):
        return False
    query = sa.select(NdaAcceptance.id).filter_by(task_id=task.id, user_id=user.id)
    return db.session.scalar(query) is not None


def can_view_full(user, task):
    """May the user see the full description and the attachments (after any NDA)?"""
    if not can_view(user, task):
        return False
    if not task.nda_required or is_member(user, task) or _oversees(user, task):
        return True
    return has_accepted_nda(user, task)


def require_view(user, task):
    """Raise NotFound unless the user may see the task (its existence stays private)."""
    if not can_view(user, task):
        raise NotFound()


def require_member(user, task):
    require_view(user, task)
    if not is_member(user, task):
        raise NotAllowed()


def visible_condition(user):
    """A SQL condition on Task: the published tasks the user may see in lists."""
    published = Task.status.in_(PUBLISHED_STATES)
    public = sa.and_(Task.visibility == Visibility.PUBLIC, Task.hidden_at.is_(None))
    if not _authenticated(user):
        return sa.and_(published, public)
    if user.is_admin:
        return published
    organization_ids = authz.organization_ids_of(user)
    invited = sa.select(TaskInvitation.task_id).where(
        sa.or_(
            TaskInvitation.user_id == user.id,
            TaskInvitation.organization_id.in_(organization_ids),
        )
    )
    invited_and_shown = sa.and_(Task.id.in_(invited), Task.hidden_at.is_(None))
    return sa.and_(
        published,
        sa.or_(public, Task.organization_id.in_(organization_ids), invited_and_shown),
    )
