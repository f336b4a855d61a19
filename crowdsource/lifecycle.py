"""Explicit state machines: a table of allowed moves and one function that makes a move.

Every move is written to the audit trail.
"""

from flask_babel import lazy_gettext as _l

from crowdsource import audit
from crowdsource.errors import IllegalTransition


def transition(obj, target, allowed, field="status", actor=None, reason=None):
    """Move ``obj.<field>`` to ``target`` if ``allowed`` (current -> set of targets) permits it,
    and record the move (who, from, to, why) in the audit trail.

    Raises :class:`IllegalTransition` otherwise; lock the row before calling.
    """
    current = getattr(obj, field)
    if target not in allowed.get(current, ()):
        raise IllegalTransition(
            _l(
                "This action is not possible now: it is %(current)s.",
                current=getattr(current, "label", current),
            )
        )
    setattr(obj, field, target)
    subject = obj.__tablename__.removesuffix("s")
    audit.record(subject, obj.id, field, actor, from_state=current, to_state=target, reason=reason)
    return current
