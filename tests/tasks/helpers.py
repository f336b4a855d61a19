"""Helpers shared by the tests of the tasks package."""

import dataclasses
import re

import sqlalchemy as sa

from crowdsource.db import db
from crowdsource.notifications.models import Notification
from crowdsource.tasks import services as task_services
from crowdsource.tasks.models import TaskInvitation


def details_of(task, **changes):
    """The TaskDetails of a stored task, with some values changed."""
    names = [f.name for f in dataclasses.fields(task_services.TaskDetails)]
    values = {name: getattr(task, name) for name in names if hasattr(task, name)}
    invitations = db.session.scalars(sa.select(TaskInvitation).filter_by(task_id=task.id)).all()
    values["invited_users"] = [i.user for i in invitations if i.user]
    values["invited_organizations"] = [i.organization for i in invitations if i.organization]
    values.update(changes)
    return task_services.TaskDetails(**values)


def notifications_of(user, kind=None):
    """The notifications a user has received (optionally of one kind), oldest first."""
    query = sa.select(Notification).filter_by(user_id=user.id).order_by(Notification.id)
    if kind is not None:
        query = query.filter_by(kind=kind)
    return list(db.session.scalars(query))


LISTED = re.compile(r'<h2 class="h5 mb-1"><a href="/tasks/(\d+)">')


def listed_ids(response):
    """Ids of the tasks a list page shows, in the order shown."""
    assert response.status_code == 200, response.status_code
    return [int(task_id) for task_id in LISTED.findall(response.get_data(as_text=True))]


def history_of(page):
    """The change history section of a task page ('' when there is none)."""
    if 'data-testid="history"' not in page:
        return ""
    start = page.index('data-testid="history"')
    return page[start : page.index("</section>", start)]
