"""Explicit state machines: a table of allowed moves and one function that makes a move."""

from flask_babel import lazy_gettext as _l

from crowdsource.errors import IllegalTransition


def transition(obj, target, allowed, field="status"):
    """Move ``obj.<field>`` to ``target`` if ``allowed`` (current -> set of targets) permits it.

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
    return current
