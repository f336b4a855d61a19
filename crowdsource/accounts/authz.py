"""Who may act for an organization and who manages a center; reused by every package.

The ``can_*``/``manages_*`` functions answer a question; the ``require_*`` ones raise
:class:`~crowdsource.errors.NotAllowed` when the answer is no.
"""

import sqlalchemy as sa

from crowdsource.accounts.models import Center, CenterManager, Membership, Role
from crowdsource.db import db
from crowdsource.errors import NotAllowed


def _authenticated(user):
    return user is not None and getattr(user, "is_authenticated", False)


def membership_of(user, organization):
    """The user's membership of the organization, or None."""
    if not _authenticated(user) or organization is None:
        return None
    return db.session.scalar(
        sa.select(Membership).filter_by(user_id=user.id, organization_id=organization.id)
    )


def can_act_for(user, organization):
    """True when the user may act on behalf of the organization (any member)."""
    return membership_of(user, organization) is not None


def is_owner(user, organization):
    membership = membership_of(user, organization)
    return membership is not None and membership.role == Role.OWNER


def require_member(user, organization):
    if not can_act_for(user, organization):
        raise NotAllowed()


def require_owner(user, organization):
    if not is_owner(user, organization):
        raise NotAllowed()


def organization_ids_of(user):
    """Ids of every organization the user is a member of."""
    if not _authenticated(user):
        return set()
    return set(db.session.scalars(sa.select(Membership.organization_id).filter_by(user_id=user.id)))


def manages_center(user, center):
    """True when the user is an admin or manages the center or any center above it."""
    if not _authenticated(user) or center is None:
        return False
    if user.is_admin:
        return True
    query = sa.select(CenterManager.id).where(
        CenterManager.user_id == user.id, CenterManager.center_id.in_(center.ancestor_ids)
    )
    return db.session.scalar(query.limit(1)) is not None


def manages_center_of(user, obj):
    """True when the user manages the center that ``obj`` (anything with ``.center``) is in."""
    return manages_center(user, getattr(obj, "center", None))


def require_manager_of(user, obj):
    if not manages_center_of(user, obj):
        raise NotAllowed()


def managed_centers(user):
    """The centers a user manages directly (each with its subtree), ordered by path."""
    if not _authenticated(user):
        return []
    query = (
        sa.select(Center)
        .join(CenterManager, CenterManager.center_id == Center.id)
        .where(CenterManager.user_id == user.id)
        .order_by(Center.path)
    )
    return list(db.session.scalars(query))


def managed_center_ids(user):
    """A select of the ids of every center the user manages (with subtrees), or None for the
    admin, who manages them all."""
    if _authenticated(user) and user.is_admin:
        return None
    centers = managed_centers(user)
    if not centers:
        return sa.select(Center.id).where(sa.false())
    return sa.select(Center.id).where(
        sa.or_(*(Center.path.startswith(center.path, autoescape=True) for center in centers))
    )
