"""Who may act for an organization and who manages a center; reused by every package.

The ``can_*``/``manages_*`` functions answer a question; the ``require_*`` ones raise
:class:`~crowdsource.errors.NotAllowed` when the answer is no.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crowdsource.accounts.models import Center, CenterManager, Membership, Role
from crowdsource.db import db
from crowdsource.errors import NotAllowed


def _authenticated(user):
    return user is not None and getattr(user, "is_authenticated", False)


def has_verified_email(user):
    """True when the user proved their address is theirs (the link mailed to it)."""
    return _authenticated(user) and user.email_verified_at is not None


def unverified_refusal(user, field=None):
    """The NotAllowed refusing what needs a verified address (posting a task, bidding, being
    invited or paid), or None when the user's address is verified. Until then a user may
    browse and ask questions."""
    if has_verified_email(user):
        return None
    return NotAllowed(
        _l(
            "Verify your email address first: open the link we sent you, or ask for a new one "
            "on your account page."
        ),
        field=field,
    )


def require_verified_email(user, field=None):
    if refused := unverified_refusal(user, field):
        raise refused


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
