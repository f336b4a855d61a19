"""Saving, listing and deleting searches of the task list, stopping their alerts, and the
daily sweep that finds new matching tasks for each and mails them as a digest.

A saved search keeps the list's parameters as its address has them; it is run again as the
list runs it (``tasks.listing.filtered_tasks``), for its owner as they are at that moment, so a
digest lists only tasks its reader may see.
"""

import datetime as dt
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from crowdsource import mail, outbox
from crowdsource.accounts import centers
from crowdsource.accounts.models import User
from crowdsource.db import db, utcnow
from crowdsource.db import lock as db_lock
from crowdsource.errors import Conflict, NotAllowed, NotFound
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import notify
from crowdsource.searches.models import SavedSearch, SearchDigest
from crowdsource.tasks import listing
from crowdsource.tasks.forms import TaskFilterForm
from crowdsource.tasks.models import Task

#: how many searches one user may keep
MAX_SAVED = 20
#: a digest at most once a day
DIGEST_EVERY = dt.timedelta(days=1)
#: the most tasks one digest lists (the link to the search shows the rest)
MAX_DIGEST_TASKS = 30
_TOKEN_SALT = "saved-search-unsubscribe"


def center_choices():
    return [SelectChoice("", "")] + [
        SelectChoice(center.id, center.name) for center in centers.all_centers()
    ]


def filter_form(arguments, choices=None):
    """The task list's filter form filled with a search's parameters, validated (``choices``:
    the centers, when the caller has them already)."""
    form = TaskFilterForm(MultiDict(arguments or {}))
    form.center_id.choices = choices if choices is not None else center_choices()
    form.validate()
    return form


def describe(search, choices=None):
    """``(words, status filter or None, [(label, value)])``: what a saved search looks for."""
    form = filter_form(search.arguments, choices)
    filters = [(label, value) for _name, label, value in listing.active_filters(form)]
    return form.value("q"), listing.status_filter(form), filters


def list_path(arguments):
    """The path of the task list showing a search (a notification's link)."""
    return "/tasks" + (f"?{urlencode(arguments)}" if arguments else "")


def searches_of(user):
    """The user's saved searches, newest first."""
    query = sa.select(SavedSearch).where(SavedSearch.user_id == user.id)
    return list(db.session.scalars(query.order_by(SavedSearch.id.desc())))


def require_owner(actor, search):
    """Raises NotFound unless the search is the actor's: nobody learns of another's searches."""
    if search is None or not getattr(actor, "is_authenticated", False):
        raise NotFound(_l("There is no such saved search."))
    if search.user_id != actor.id:
        raise NotFound(_l("There is no such saved search."))
    return search


def save_search(actor, arguments):
    """Keep the search (the list's parameters, validated) for the actor, with daily alerts.

    Raises NotAllowed for a visitor, Conflict when the actor keeps the same search already or
    has MAX_SAVED of them.
    """
    if not getattr(actor, "is_authenticated", False):
        raise NotAllowed(_l("Sign in to save a search."))
    arguments = listing.search_arguments(filter_form(arguments))
    kept = searches_of(actor)
    if any(search.arguments == arguments for search in kept):
        raise Conflict(_l("You have saved this search already."))
    if len(kept) >= MAX_SAVED:
        raise Conflict(
            _l("You can keep at most %(count)d searches. Delete one first.", count=MAX_SAVED)
        )
    search = SavedSearch(user_id=actor.id, arguments=arguments, checked_through=utcnow())
    db.session.add(search)
    db.session.flush()
    return search


def delete_search(actor, search):
    """Delete the actor's saved search and its digests. Raises NotFound for another's."""
    require_owner(actor, search)
    db.session.execute(sa.delete(SearchDigest).where(SearchDigest.saved_search_id == search.id))
    db.session.delete(search)
    db.session.flush()


def unsubscribe_token(search):
    """A token, signed with SECRET_KEY, that stops the search's e-mails without signing in."""
    return _serializer().dumps({"search": search.id, "user": search.user_id})


def search_of_token(token):
    """The saved search a token names; raises NotFound for a forged, altered or stale one."""
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        raise NotFound(_l("This link is not valid.")) from None
    search = (
        db.session.get(SavedSearch, payload.get("search")) if isinstance(payload, dict) else None
    )
    if search is None or search.user_id != payload.get("user"):
        raise NotFound(_l("This saved search no longer exists: no e-mails are sent for it."))
    return search


def stop_alerts(search):
    """No more e-mails for the search (the link in each digest: no sign-in needed)."""
    search = db_lock(SavedSearch, search.id)
    if search is not None:
        search.alerts = False
        db.session.flush()
    return search


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)


def sweep_due(now=None):
    """Send the digest of every saved search with alerts whose day has passed: the tasks
    published since the last one that match it and its owner may see; nothing when there is
    none. Returns how many digests were made.

    Safe to run from several processes at once: each search is locked (skipping one another
    sweeper holds) and checked again, its window moves on in the same transaction as its
    digest is written, and a digest's window is unique in the database.
    """
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(SavedSearch.id)
        .join(User, User.id == SavedSearch.user_id)
        .where(
            SavedSearch.alerts.is_(True),
            SavedSearch.checked_through <= now - DIGEST_EVERY,
            User.suspended_at.is_(None),
        )
        .order_by(SavedSearch.id)
    ).all()
    made = 0
    for search_id in due:
        search = db_lock(SavedSearch, search_id, skip_locked=True)
        if search is None or not search.alerts or search.checked_through > now - DIGEST_EVERY:
            continue
        if _digest(search, now) is not None:
            made += 1
    return made


def _digest(search, now):
    """Write the digest of the search's new tasks up to ``now`` (None when none is new)."""
    since = search.checked_through
    search.checked_through = now
    owner = db.session.get(User, search.user_id)
    query = listing.filtered_tasks(owner, filter_form(search.arguments)).where(
        Task.published_at > since, Task.published_at <= now
    )
    task_ids = list(db.session.scalars(query.with_only_columns(Task.id).limit(MAX_DIGEST_TASKS)))
    if not task_ids:
        db.session.flush()
        return None
    digest = SearchDigest(
        saved_search_id=search.id, user_id=owner.id, since=since, until=now, task_ids=task_ids
    )
    db.session.add(digest)
    db.session.flush()
    digest.email_message_id = mail.message_id("search-digest", digest.id)
    notify(
        [owner],
        Kind.SAVED_SEARCH_MATCHES,
        list_path(search.arguments),
        search=search.arguments.get("q") or "",
        count=str(len(task_ids)),
    )
    outbox.enqueue(
        "crowdsource.searches.jobs:send_digest_email",
        digest.id,
        queue=outbox.MAIL,
        retry_intervals=mail.RETRY_INTERVALS,
    )
    return digest
