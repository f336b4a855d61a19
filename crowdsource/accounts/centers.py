"""Center services: the province → city → county tree and its managers."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from crowdsource.accounts.models import PARENT_LEVEL, Center, CenterLevel, CenterManager
from crowdsource.db import db
from crowdsource.errors import Conflict, DomainError


def find_center(code_or_name):
    """The center whose code, Chinese name or English name is given (codes win), or None."""
    text = (code_or_name or "").strip()
    for column in (Center.code, Center.name_zh, Center.name_en):
        center = db.session.scalar(sa.select(Center).where(sa.func.lower(column) == text.lower()))
        if center is not None:
            return center
    return None


def add_center(code, name_zh, name_en, level, parent=None):
    """Add a center below ``parent`` (none for a province).

    Raises DomainError when the level does not fit under the parent, Conflict if the code
    is taken.
    """
    level = CenterLevel(level)
    expected_parent_level = PARENT_LEVEL.get(level)
    if expected_parent_level is None and parent is not None:
        raise DomainError(_l("A province has no parent center."))
    if expected_parent_level is not None and (
        parent is None or parent.level != expected_parent_level
    ):
        raise DomainError(
            _l(
                "A %(level)s center belongs under a %(parent)s center.",
                level=level.label,
                parent=expected_parent_level.label,
            )
        )
    center = Center(code=code.strip().lower(), name_zh=name_zh, name_en=name_en, level=level)
    center.parent = parent
    try:
        with db.session.begin_nested():
            db.session.add(center)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_l("A center with this code already exists.")) from None
    center.path = f"{parent.path if parent else '/'}{center.id:08d}/"
    db.session.flush()
    return center


def make_manager(user, center):
    """Make ``user`` a manager of ``center`` (and so of its subtree); doing it twice is harmless."""
    existing = db.session.scalar(
        sa.select(CenterManager).filter_by(user_id=user.id, center_id=center.id)
    )
    if existing is not None:
        return existing
    manager = CenterManager(user=user, center=center)
    db.session.add(manager)
    db.session.flush()
    return manager


def remove_manager(user, center):
    """``user`` no longer manages ``center`` directly."""
    db.session.execute(
        sa.delete(CenterManager).where(
            CenterManager.user_id == user.id, CenterManager.center_id == center.id
        )
    )


def subtree_query(center):
    """A select of the ids of ``center`` and every center below it."""
    return sa.select(Center.id).where(Center.path.startswith(center.path, autoescape=True))


def all_centers():
    """Every center, parents before their children (ordered by path)."""
    return list(db.session.scalars(sa.select(Center).order_by(Center.path)))


def managers_of(center):
    """The direct managers of a center."""
    query = sa.select(CenterManager).filter_by(center_id=center.id).order_by(CenterManager.id)
    return list(db.session.scalars(query))
