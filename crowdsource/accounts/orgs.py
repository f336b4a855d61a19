"""Organization services: creating and editing organizations, invitations and memberships.

Each function checks that the actor may do it (raising NotAllowed), changes the session's
objects and flushes; the caller's transaction commits. The database keeps credit codes and name
keys (crowdsource.accounts.identity) unique; a clash is told at the field it concerns.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from crowdsource.accounts import authz, credit_code, identity, verification
from crowdsource.accounts.jobs import enqueue_invitation_email
from crowdsource.accounts.models import (
    INVITATION_MOVES,
    Center,
    Invitation,
    InvitationStatus,
    Membership,
    Organization,
    OrgKind,
    Ownership,
    Role,
)
from crowdsource.accounts.services import find_user_by_email
from crowdsource.db import db, lock, lock_one, utcnow
from crowdsource.errors import Conflict, DomainError, NotAllowed
from crowdsource.lifecycle import transition


def _check_details(kind, ownership, code, center_id):
    kind = OrgKind(kind)
    if kind == OrgKind.AGENCY and not ownership:
        raise DomainError(_l("A service agency must state its ownership type."), field="ownership")
    if credit_code.problem(code):
        raise DomainError(
            _l("This is not a valid unified social credit code."), field="credit_code"
        )
    if db.session.get(Center, center_id) is None:
        raise DomainError(_l("Choose an innovation center."), field="center_id")
    return kind, Ownership(ownership) if ownership else None


#: the longest organization name stored (the column's length)
NAME_LENGTH = Organization.__table__.c.name.type.length


def _save_unique(organization, **details):
    """Set ``details`` on ``organization`` and flush it in a savepoint; raises Conflict, at the
    field concerned, when the database finds its credit code or its name key taken. (Changes
    made before the savepoint would be flushed as it opens, outside it: they are made inside.)"""
    code = details.get("credit_code", organization.credit_code)
    key = details.get("name_key", organization.name_key)
    own_id = organization.id
    try:
        with db.session.begin_nested():
            for attribute, value in details.items():
                setattr(organization, attribute, value)
            db.session.add(organization)
    except IntegrityError:
        raise _clash(code, key, own_id) from None


def _clash(code, key, own_id):
    """The Conflict for the credit code ``code`` or the name key ``key`` that an organization
    other than ``own_id`` has."""
    others = sa.select(Organization)
    if own_id is not None:
        others = others.where(Organization.id != own_id)
    if db.session.scalar(others.filter_by(credit_code=code).limit(1)):
        return Conflict(
            _l("An organization with this unified social credit code is already registered."),
            field="credit_code",
        )
    alike = db.session.scalar(others.filter_by(name_key=key).limit(1))
    if alike is None:
        return Conflict()
    return Conflict(
        _l(
            "This name cannot be told apart from that of %(name)s, already registered: "
            "it differs at most in case, width, spaces or letters that look alike.",
            name=alike.name,
        ),
        field="name",
    )


def create_organization(actor, name, kind, ownership, code, center_id, description=""):
    """Register an organization with ``actor`` as its first owner.

    Raises DomainError on invalid details or an empty or overlong name, Conflict if the credit
    code is already registered or the name looks like a registered one.
    """
    name = identity.clean_name(name, "name", NAME_LENGTH)
    code = credit_code.normalize(code)
    kind, ownership = _check_details(kind, ownership, code, center_id)
    organization = Organization(
        name=name,
        name_key=identity.name_key(name),
        kind=kind,
        ownership=ownership,
        credit_code=code,
        center_id=center_id,
        description=description or "",
    )
    _save_unique(organization)
    db.session.add(Membership(user=actor, organization=organization, role=Role.OWNER))
    db.session.flush()
    return organization


def update_organization(actor, organization, name, kind, ownership, code, center_id, description):
    """Change an organization's details (owners only); raises as create_organization does, and
    DomainError for a new credit code of a verified organization (or one waiting for review)."""
    authz.require_owner(actor, organization)
    name = identity.clean_name(name, "name", NAME_LENGTH)
    code = credit_code.normalize(code)
    kind, ownership = _check_details(kind, ownership, code, center_id)
    new_code = code != organization.credit_code
    # An unchanged name keeps its key (or its lack of one, from before migration 0010).
    key = organization.name_key if name == organization.name else identity.name_key(name)
    _save_unique(
        organization,
        name=name,
        name_key=key,
        kind=kind,
        ownership=ownership,
        credit_code=code,
        center_id=center_id,
        description=description or "",
    )
    # After the clash with another organization's code, which is told first; the caller's
    # transaction rolls the change back.
    if new_code and (refused := verification.code_change_refusal(organization)):
        raise refused
    return organization


def invite_member(actor, organization, email, role=Role.MEMBER):
    """Invite the registered user with ``email``; they are told by mail once this commits.

    Raises NotAllowed unless the actor owns the organization, DomainError if nobody has
    registered with the email, Conflict if they are a member or already invited.
    """
    authz.require_owner(actor, organization)
    invitee = find_user_by_email(email)
    if invitee is None:
        raise DomainError(
            _l("Nobody has registered with this email. Ask them to register first."), field="email"
        )
    if not authz.has_verified_email(invitee):
        raise DomainError(
            _l(
                "%(name)s has not confirmed their email address yet: invite them once they have.",
                name=invitee.display_name,
            ),
            field="email",
        )
    if authz.membership_of(invitee, organization) is not None:
        raise Conflict(
            _l("%(name)s is already a member.", name=invitee.display_name), field="email"
        )
    invitation = Invitation(
        organization=organization, invitee=invitee, invited_by=actor, role=Role(role)
    )
    try:
        with db.session.begin_nested():
            db.session.add(invitation)
    except IntegrityError:
        raise Conflict(
            _l("%(name)s has already been invited.", name=invitee.display_name), field="email"
        ) from None
    enqueue_invitation_email(invitation.id)
    return invitation


def _lock_invitation(invitation):
    return lock(Invitation, invitation.id)


def accept_invitation(actor, invitation):
    """The invitee joins the organization with the invited role.

    Raises NotAllowed for anyone but the invitee, IllegalTransition unless it is pending.
    """
    invitation = _lock_invitation(invitation)
    if actor.id != invitation.invitee_id:
        raise NotAllowed()
    transition(invitation, InvitationStatus.ACCEPTED, INVITATION_MOVES, actor=actor)
    invitation.responded_at = utcnow()
    if authz.membership_of(actor, invitation.organization) is None:
        db.session.add(
            Membership(user=actor, organization=invitation.organization, role=invitation.role)
        )
    db.session.flush()
    return invitation


def decline_invitation(actor, invitation):
    """The invitee declines; raises NotAllowed for anyone else, IllegalTransition unless pending."""
    invitation = _lock_invitation(invitation)
    if actor.id != invitation.invitee_id:
        raise NotAllowed()
    transition(invitation, InvitationStatus.DECLINED, INVITATION_MOVES, actor=actor)
    invitation.responded_at = utcnow()
    db.session.flush()
    return invitation


def cancel_invitation(actor, invitation):
    """An owner withdraws a pending invitation."""
    invitation = _lock_invitation(invitation)
    authz.require_owner(actor, invitation.organization)
    transition(invitation, InvitationStatus.CANCELLED, INVITATION_MOVES, actor=actor)
    invitation.responded_at = utcnow()
    db.session.flush()
    return invitation


def _lock_organization(organization):
    """Lock the organization row: changes to its owners are serialised on it."""
    lock_one(sa.select(Organization.id).filter_by(id=organization.id))


def _owner_count(organization):
    return db.session.scalar(
        sa.select(sa.func.count(Membership.id)).filter_by(
            organization_id=organization.id, role=Role.OWNER
        )
    )


def _refuse_losing_last_owner(membership):
    if membership.role == Role.OWNER and _owner_count(membership.organization) <= 1:
        raise DomainError(
            _l("An organization needs at least one owner. Make another member an owner first.")
        )


def leave_organization(actor, organization):
    """The actor stops being a member; the last owner cannot leave."""
    _lock_organization(organization)
    membership = authz.membership_of(actor, organization)
    if membership is None:
        raise DomainError(_l("You are not a member of this organization."))
    _refuse_losing_last_owner(membership)
    db.session.delete(membership)
    db.session.flush()


def remove_member(actor, membership):
    """An owner removes a member; the last owner cannot be removed."""
    _lock_organization(membership.organization)
    authz.require_owner(actor, membership.organization)
    _refuse_losing_last_owner(membership)
    db.session.delete(membership)
    db.session.flush()


def change_role(actor, membership, role):
    """An owner makes a member an owner or an owner a member; the last owner stays owner."""
    _lock_organization(membership.organization)
    authz.require_owner(actor, membership.organization)
    role = Role(role)
    if role == Role.MEMBER:
        _refuse_losing_last_owner(membership)
    membership.role = role
    db.session.flush()
    return membership
