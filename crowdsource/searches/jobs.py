"""Jobs of saved searches: e-mail a digest of new matching tasks, once, in its reader's
language and time zone, with a link that stops these e-mails (also as List-Unsubscribe).

Safe to run again: a digest whose ``emailed_at`` is set is not sent again, and every attempt
carries the same Message-ID (see crowdsource/mail.py).
"""

import zoneinfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_datetime, ngettext
from flask_babel import gettext as _
from sqlalchemy import orm

from crowdsource import mail
from crowdsource.accounts.models import User
from crowdsource.db import db
from crowdsource.mail import external_url
from crowdsource.money import format_money
from crowdsource.searches import services
from crowdsource.searches.models import SavedSearch, SearchDigest
from crowdsource.tasks.models import Task


def send_digest_email(digest_id):
    """Send the digest by mail unless it was sent already or its alerts were stopped since;
    then record that it was sent."""
    mail.send_once(SearchDigest, digest_id, _compose)


def _zone(user):
    for name in (user.timezone, current_app.config["BABEL_DEFAULT_TIMEZONE"]):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            continue
    return zoneinfo.ZoneInfo("UTC")


def _compose(digest_id):
    """``(to, subject, body, message_id, headers)`` of the digest's mail, or None."""
    digest = db.session.get(SearchDigest, digest_id)
    if digest is None or digest.emailed_at is not None:
        return None
    search = db.session.get(SavedSearch, digest.saved_search_id)
    if search is None or not search.alerts:
        return None
    user = db.session.get(User, digest.user_id)
    found = db.session.scalars(
        sa.select(Task)
        .where(Task.id.in_(digest.task_ids))
        .options(orm.joinedload(Task.center), orm.joinedload(Task.organization))
    )
    tasks = {task.id: task for task in found}
    zone = _zone(user)
    home = external_url("home.index").rstrip("/")
    unsubscribe = external_url("searches.unsubscribe", token=services.unsubscribe_token(search))
    with force_locale(str(user.locale)):
        words = search.arguments.get("q")
        subject = ngettext(
            "%(num)d new task matches your saved search",
            "%(num)d new tasks match your saved search",
            len(tasks),
        )
        if words:
            subject = _("%(subject)s “%(words)s”", subject=subject, words=words)
        since = format_datetime(digest.since.astimezone(zone), "medium", rebase=False)
        lines = [_("Published since %(date)s:", date=since), ""]
        for task_id in digest.task_ids:
            task = tasks.get(task_id)
            if task is None:
                continue
            deadline = format_datetime(task.bid_deadline.astimezone(zone), "short", rebase=False)
            lines += [
                f"- {task.title}",
                "  "
                + _(
                    "%(organization)s · %(center)s · %(low)s – %(high)s · bids until %(deadline)s",
                    organization=task.organization.name,
                    center=task.center.name,
                    low=format_money(task.budget_min_fen),
                    high=format_money(task.budget_max_fen),
                    deadline=deadline,
                ),
                f"  {home}/tasks/{task.id}",
            ]
        lines += [
            "",
            _("All tasks of this search: %(url)s", url=home + services.list_path(search.arguments)),
            _("Your saved searches: %(url)s", url=external_url("searches.index")),
            _("Stop these e-mails (no sign-in needed): %(url)s", url=unsubscribe),
        ]
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    message_id = digest.email_message_id or mail.message_id("search-digest", digest.id)
    return user.email, subject, "\n".join(lines), message_id, headers
