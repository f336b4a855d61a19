"""Explicit state machines: a table of allowed moves and one function that makes a move.

:func:`transition` is the only way a status changes (a constructor gives a new object its
first state). Every move is written to the audit trail with who made it:

- ``actor`` is a required argument. A person's action names the user; what the platform does
  by itself — a sweep ending bidding at the deadline or releasing after the review period, a
  provider's webhook, a job — names :data:`SYSTEM`. ``None`` is refused, so that no move is
  recorded without anyone having decided who made it.
- A move by the system is stored with no actor (``actor_id`` NULL); since every move names its
  actor, an audit row without one is the system's, and the pages reading the trail show it as
  "the system" (「系统」) in the reader's language.

A guard (:func:`install_guard`, wired by the app factory) checks every flush: an object whose
status changed without :func:`transition` having made that move is a bug. Under ``TESTING`` (or
``STRICT_STATUS_CHANGES``) the flush raises :class:`UnrecordedStatusChange`; otherwise the change
is logged as an error and stored (refusing a customer's payment for our bug helps nobody).
"""

import logging

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, orm

from crowdsource import audit
from crowdsource.errors import IllegalTransition

log = logging.getLogger(__name__)


class _System:
    """The platform itself as the actor of a move (a sweep, a webhook, a job)."""

    id = None

    def __repr__(self):
        return "SYSTEM"


#: the actor of a move nobody made by hand; its audit row has no actor_id
SYSTEM = _System()

#: the attributes the guard watches, and every field transition() has been asked to move
GUARDED_FIELDS = {"status"}

#: session.info key: {id(obj): (obj, {field: target})} of the moves made since the last flush
_MOVES_KEY = "lifecycle_moves"


class UnrecordedStatusChange(RuntimeError):
    """A status changed without transition(): no move was checked and no audit row written."""


def transition(obj, target, allowed, field="status", *, actor, reason=None):
    """Move ``obj.<field>`` to ``target`` if ``allowed`` (current -> set of targets) permits it,
    and record the move (who, from, to, why) in the audit trail.

    ``actor`` is the user who acts, or :data:`SYSTEM`; None raises ValueError. Raises
    :class:`IllegalTransition` when the table does not allow the move; lock the row before
    calling.
    """
    if actor is None:
        raise ValueError("transition() needs its actor: a user, or lifecycle.SYSTEM")
    current = getattr(obj, field)
    if target not in allowed.get(current, ()):
        raise IllegalTransition(
            _l(
                "This action is not possible now: it is %(current)s.",
                current=getattr(current, "label", current),
            )
        )
    setattr(obj, field, target)
    GUARDED_FIELDS.add(field)
    session = orm.object_session(obj)
    if session is not None:
        moves = session.info.setdefault(_MOVES_KEY, {})
        moves.setdefault(id(obj), (obj, {}))[1][field] = target
    subject = obj.__tablename__.removesuffix("s")
    audit.record(subject, obj.id, field, actor, from_state=current, to_state=target, reason=reason)
    return current


def _unrecorded_changes(session):
    """(object, field, old, new) of every status change in this flush that transition() did
    not make."""
    moves = session.info.get(_MOVES_KEY, {})
    found = []
    for obj in session.dirty:
        state = sa.inspect(obj)
        for field in GUARDED_FIELDS & set(state.mapper.column_attrs.keys()):
            history = state.attrs[field].history
            if not history.has_changes():
                continue
            moved = moves.get(id(obj), (None, {}))
            if moved[0] is obj and field in moved[1] and moved[1][field] == getattr(obj, field):
                continue
            old = history.deleted[0] if history.deleted else "(not loaded)"
            found.append((obj, field, old, getattr(obj, field)))
    return found


def _strict():
    if not has_app_context():
        return True
    config = current_app.config
    return config.get("STRICT_STATUS_CHANGES", config.get("TESTING", False))


def _check_flush(session, flush_context, instances):
    found = _unrecorded_changes(session)
    session.info.pop(_MOVES_KEY, None)
    if not found:
        return
    described = ", ".join(
        f"{type(obj).__name__} {obj.id}.{field}: {old} -> {new}" for obj, field, old, new in found
    )
    message = f"status changed without lifecycle.transition() (no audit row): {described}"
    if _strict():
        raise UnrecordedStatusChange(message)
    log.error(message)


def _forget_moves(session, *args):
    session.info.pop(_MOVES_KEY, None)


def install_guard():
    """Check every flush of every session for status changes transition() did not make
    (idempotent: the listeners are installed once)."""
    if not event.contains(orm.Session, "before_flush", _check_flush):
        event.listen(orm.Session, "before_flush", _check_flush)
        event.listen(orm.Session, "after_soft_rollback", _forget_moves)
