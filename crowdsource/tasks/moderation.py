"""The platform's moderation of tasks: a manager of the task's center (or the admin) hides a
task from everyone outside its enterprise, with a reason its enterprise sees, and restores it.
A suspended account's tasks are hidden the same way, and shown again on reactivation."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crowdsource import audit
from crowdsource.accounts import authz
from crowdsource.db import db, utcnow
from crowdsource.db import lock as db_lock
from crowdsource.errors import Conflict, DomainError, NotAllowed
from crowdsource.tasks.models import Task, TaskStatus

#: the tasks a suspension hides: those still looking for a solver
HIDDEN_ON_SUSPENSION = (TaskStatus.DRAFT, TaskStatus.OPEN, TaskStatus.CLOSED)
MAX_REASON = 2000


def may_moderate(actor, task):
    """The admin, and the managers of the task's center (and the centers above it)."""
    return bool(getattr(actor, "is_authenticated", False)) and (
        actor.is_admin or authz.manages_center_of(actor, task)
    )


def _clean_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why: the enterprise sees the reason."), field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(_l("Use at most %(max)d characters.", max=MAX_REASON), field="reason")
    return reason


def hide_task(actor, task, reason, now=None):
    """Hide the task from everyone outside its enterprise and the managers. Raises
    NotAllowed, DomainError without a reason (at ``reason``), Conflict when it is hidden."""
    if not may_moderate(actor, task):
        raise NotAllowed()
    reason = _clean_reason(reason)
    task = db_lock(Task, task.id)
    if task.hidden_at is not None:
        raise Conflict(_l("This task is hidden already."))
    task.hidden_at, task.hidden_reason, task.hidden_by_suspension = now or utcnow(), reason, False
    audit.record("task", task.id, "hidden", actor=actor, reason=reason)
    db.session.flush()
    return task


def restore_task(actor, task):
    """Show a hidden task again. Raises NotAllowed, Conflict when it is not hidden."""
    if not may_moderate(actor, task):
        raise NotAllowed()
    task = db_lock(Task, task.id)
    if task.hidden_at is None:
        raise Conflict(_l("This task is not hidden."))
    task.hidden_at, task.hidden_reason, task.hidden_by_suspension = None, None, False
    audit.record("task", task.id, "restored", actor=actor)
    db.session.flush()
    return task


def hide_tasks_of(user, actor, reason, now=None):
    """Hide the tasks ``user`` posted that still look for a solver (their account is
    suspended); returns how many."""
    tasks = db.session.scalars(
        sa.select(Task).where(
            Task.created_by_id == user.id,
            Task.status.in_(HIDDEN_ON_SUSPENSION),
            Task.hidden_at.is_(None),
        )
    ).all()
    for task in tasks:
        task = db_lock(Task, task.id)
        task.hidden_at, task.hidden_reason = now or utcnow(), reason
        task.hidden_by_suspension = True
        audit.record("task", task.id, "hidden", actor=actor, reason=reason)
    db.session.flush()
    return len(tasks)


def restore_tasks_of(user, actor):
    """Show again the tasks a suspension of ``user`` hid; returns how many."""
    tasks = db.session.scalars(
        sa.select(Task).where(Task.created_by_id == user.id, Task.hidden_by_suspension.is_(True))
    ).all()
    for task in tasks:
        task = db_lock(Task, task.id)
        task.hidden_at, task.hidden_reason, task.hidden_by_suspension = None, None, False
        audit.record("task", task.id, "restored", actor=actor)
    db.session.flush()
    return len(tasks)
