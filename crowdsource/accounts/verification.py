"""Real-name verification (实名认证): a person applies with their legal name and resident ID
number, an organization's owner with its credit code and business licence; a manager of the
request's center (or of a center above it) or the admin approves or refuses it with a reason; the
admin may revoke an approved verification. Every decision is a move of the request's state
machine (VERIFICATION_MOVES), recorded in the audit trail with who made it.

Who reviews: an organization's request goes to its home center; a person picks the center they
live or work in when applying. The managers of that center and of every center above it, and
the admin, see it in their queue. Nobody reviews their own request or their organization's.

The rule every package asks (:func:`unverified_refusal`): only verified organizations publish
tasks, and only verified payees are paid out, while REQUIRE_REAL_NAME_VERIFICATION is on (the
default; 0 relaxes it for a trial). Whether someone is verified is shown whatever the setting.

Each function checks the actor's right, changes the session's objects and flushes; the
caller's transaction commits.
"""

import pathlib

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from crowdsource import audit, uploads
from crowdsource.accounts import authz, credit_code, resident_id
from crowdsource.accounts.models import (
    VERIFICATION_MOVES,
    Center,
    Membership,
    Organization,
    Role,
    User,
    Verification,
    VerificationKind,
    VerificationStatus,
)
from crowdsource.db import db, lock, utcnow
from crowdsource.errors import AlreadyDone, Conflict, DomainError, NotAllowed, NotFound
from crowdsource.lifecycle import transition

#: a business licence: a scan or photo, as PDF, JPEG or PNG, of at most LICENCE_MAX_BYTES
LICENCE_TYPES = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}
LICENCE_MAX_BYTES = 10 * 1024 * 1024
MAX_REASON = 2000

ID_NUMBER_PROBLEMS = {
    "length": _l("A resident ID number has 18 characters."),
    "characters": _l("A resident ID number has 17 digits and a last digit or X."),
    "birth_date": _l("The birth date in this number (characters 7 to 14) is not a real date."),
    "check": _l("This number's last character does not match: check it against your ID card."),
}

#: what is refused to an unverified subject, by the action and the kind of subject
REFUSALS = {
    ("publish", VerificationKind.ORGANIZATION): lambda name: _l(
        "Only verified organizations publish tasks, and %(name)s is not verified yet: an owner "
        "applies with its business licence on the organization's page.",
        name=name,
    ),
    ("payout", VerificationKind.ORGANIZATION): lambda name: _l(
        "Only verified payees are paid out, and %(name)s is not verified yet: an owner applies "
        "with its business licence on the organization's page.",
        name=name,
    ),
    ("payout", VerificationKind.PERSON): lambda name: _l(
        "Only verified payees are paid out, and %(name)s has not verified their real name yet: "
        "they apply with their legal name and resident ID number under Real-name verification.",
        name=name,
    ),
}


# --- the rule ---------------------------------------------------------------------------------


def required():
    """Whether the platform requires verification (REQUIRE_REAL_NAME_VERIFICATION)."""
    return bool(current_app.config.get("REQUIRE_REAL_NAME_VERIFICATION", True))


def _kind_of(subject):
    return (
        VerificationKind.ORGANIZATION
        if isinstance(subject, Organization)
        else VerificationKind.PERSON
    )


def _name_of(subject):
    return subject.name if isinstance(subject, Organization) else subject.display_name


def unverified_refusal(subject, action, field=None):
    """The NotAllowed refusing ``action`` ("publish": a task for the organization ``subject``;
    "payout": money paid out to ``subject``, a person or an organization) while ``subject`` is
    not verified and the platform requires it; None when the action may go ahead."""
    if not required() or subject.real_name_verified:
        return None
    return NotAllowed(REFUSALS[(action, _kind_of(subject))](_name_of(subject)), field=field)


# --- who may see and decide ---------------------------------------------------------------------


def is_own(user, verification):
    """The user's own request, or one for an organization the user is a member of."""
    if verification.kind == VerificationKind.PERSON:
        return user.id == verification.applicant_id
    return authz.can_act_for(user, verification.organization)


def may_review(user, verification):
    """May the user see the request in full and decide it? A manager of its center (or one
    above) or the admin; never for their own request or their organization's."""
    if not getattr(user, "is_authenticated", False) or is_own(user, verification):
        return False
    if verification.center is None:
        return user.is_admin
    return authz.manages_center(user, verification.center)


def may_revoke(user, verification):
    return (
        getattr(user, "is_admin", False)
        and verification.status == VerificationStatus.APPROVED
        and not is_own(user, verification)
    )


def may_see_licence(user, verification):
    """The organization's members, the managers of the request's center and above, the admin."""
    if verification.licence_stored_name is None or not getattr(user, "is_authenticated", False):
        return False
    return is_own(user, verification) or user.is_admin or may_review(user, verification)


def require_reviewer(user, verification):
    """NotAllowed for the applicant's side, NotFound for everyone else who may not review it
    (a manager of another center does not learn that it exists)."""
    if getattr(user, "is_authenticated", False) and is_own(user, verification):
        raise NotAllowed(_l("Nobody reviews their own verification."))
    if not may_review(user, verification):
        raise NotFound()


def licence_path(user, verification):
    """The stored licence of the request, if the user may see it (else NotFound)."""
    if not may_see_licence(user, verification):
        raise NotFound()
    return uploads.folder() / verification.licence_stored_name


# --- what is shown ------------------------------------------------------------------------------


def latest_of(subject):
    """The subject's most recent request (a person's or an organization's), or None."""
    query = sa.select(Verification).order_by(Verification.id.desc()).limit(1)
    if isinstance(subject, Organization):
        query = query.filter_by(organization_id=subject.id)
    else:
        query = query.filter_by(kind=VerificationKind.PERSON, applicant_id=subject.id)
    return db.session.scalar(query)


def queue(user):
    """The pending requests the user may decide, oldest first: those of the centers they manage
    (with their subtrees), all of them for the admin; never their own or their
    organization's."""
    query = (
        sa.select(Verification)
        .where(
            Verification.status == VerificationStatus.PENDING,
            Verification.applicant_id != user.id,
        )
        .order_by(Verification.created_at, Verification.id)
    )
    centers = authz.managed_center_ids(user)
    if centers is not None:
        query = query.where(Verification.center_id.in_(centers))
    own = authz.organization_ids_of(user)
    if own:
        query = query.where(
            sa.or_(Verification.organization_id.is_(None), Verification.organization_id.not_in(own))
        )
    return list(db.session.scalars(query))


def code_change_refusal(organization):
    """The DomainError refusing a new credit code for an organization that is verified, or
    waiting for review, with its present one (the code of its licence); else None."""
    latest = latest_of(organization)
    if organization.real_name_verified or (
        latest is not None and latest.status == VerificationStatus.PENDING
    ):
        return DomainError(
            _l(
                "The credit code of a verified organization, or of one waiting for review, is "
                "the one on its business licence: it cannot be changed."
            ),
            field="credit_code",
        )
    return None


# --- applying -----------------------------------------------------------------------------------


def _reason(reason, required_message=None):
    reason = (reason or "").strip()
    if required_message and not reason:
        raise DomainError(required_message, field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(_l("Use at most %(max)d characters.", max=MAX_REASON), field="reason")
    return reason or None


def _save_live(verification, conflict):
    """Add the request; the database keeps one live request per person, organization and ID
    number (a second application made at the same moment loses here)."""
    try:
        with db.session.begin_nested():
            db.session.add(verification)
    except IntegrityError:
        raise conflict from None


def _refuse_if_live(subject):
    if subject.real_name_verified:
        raise AlreadyDone(_l("%(name)s is verified already.", name=_name_of(subject)))
    latest = latest_of(subject)
    if latest is not None and latest.status == VerificationStatus.PENDING:
        raise AlreadyDone(_l("The request is waiting for review already."))


def apply_as_person(actor, legal_name, id_number, center_id, now=None):
    """The actor asks to be verified with their legal name and resident ID number, reviewed by
    the managers of ``center_id``; only the number's keyed hash and last four characters are
    stored. Raises DomainError for a bad number or center, AlreadyDone while verified or
    waiting, Conflict when the number is verified or waiting for another account."""
    authz.require_verified_email(actor)
    person = lock(User, actor.id)  # one application at a time per person
    _refuse_if_live(person)
    legal_name = (legal_name or "").strip()
    if not legal_name:
        raise DomainError(_l("This field is required."), field="legal_name")
    number = resident_id.normalize(id_number)
    today = (now or utcnow()).astimezone(resident_id.CHINA).date()
    if problem := resident_id.problem(number, today):
        raise DomainError(ID_NUMBER_PROBLEMS[problem], field="id_number")
    center = db.session.get(Center, center_id) if center_id else None
    if center is None:
        raise DomainError(_l("Choose an innovation center."), field="center_id")
    fingerprint = resident_id.fingerprint(number, current_app.config["SECRET_KEY"])
    taken = Conflict(
        _l("This resident ID number is verified or waiting for review for another account."),
        field="id_number",
    )
    verification = Verification(
        kind=VerificationKind.PERSON,
        applicant_id=person.id,
        center_id=center.id,
        status=VerificationStatus.PENDING,
        legal_name=legal_name[:80],
        id_number_hash=fingerprint,
        id_number_last_four=resident_id.last_four(number),
        created_at=now or utcnow(),
    )
    _save_live(verification, taken)
    audit.record("verification", verification.id, "applied", actor, to_state=verification.status)
    return verification


def licence_problem(file_storage):
    """Why this file is no business licence the platform takes (a message), or None."""
    extension = pathlib.PurePath(file_storage.filename or "").suffix.lower().lstrip(".")
    if extension not in LICENCE_TYPES:
        return _l("Upload the business licence as PDF, JPEG or PNG.")
    length = uploads.size(file_storage.stream)
    if length == 0:
        return _l("The file is empty.")
    if length > LICENCE_MAX_BYTES:
        return _l("A file may be at most %(mb)d MB.", mb=LICENCE_MAX_BYTES // (1024 * 1024))
    if not uploads.begins_with(file_storage.stream, LICENCE_TYPES[extension][1]):
        return _l("The file's content does not match its name (.%(ext)s).", ext=extension)
    return None


def apply_for_organization(actor, organization, code, licence, now=None):
    """An owner asks for the organization to be verified with its credit code (the one it is
    registered with) and business licence, reviewed by the managers of its home center. The
    licence file is removed again if the transaction rolls back. Raises NotAllowed for anyone
    but an owner, DomainError for a wrong code or file, AlreadyDone while verified or
    waiting."""
    authz.require_owner(actor, organization)
    authz.require_verified_email(actor)
    organization = lock(Organization, organization.id)
    _refuse_if_live(organization)
    code = credit_code.normalize(code)
    if credit_code.problem(code):
        raise DomainError(
            _l("This is not a valid unified social credit code."), field="credit_code"
        )
    if code != organization.credit_code:
        raise DomainError(
            _l(
                "%(name)s is registered with the code %(code)s: correct the organization's "
                "details first if that is wrong.",
                name=organization.name,
                code=organization.credit_code,
            ),
            field="credit_code",
        )
    if licence is None or not licence.filename:
        raise DomainError(_l("Choose a file."), field="licence")
    if reason := licence_problem(licence):
        raise DomainError(reason, field="licence")
    extension = pathlib.PurePath(licence.filename).suffix.lower().lstrip(".")
    verification = Verification(
        kind=VerificationKind.ORGANIZATION,
        applicant_id=actor.id,
        organization_id=organization.id,
        center_id=organization.center_id,
        status=VerificationStatus.PENDING,
        credit_code=code,
        licence_name=pathlib.PurePath(licence.filename).name[:255],
        licence_content_type=LICENCE_TYPES[extension][0],
        licence_size=uploads.size(licence.stream),
        created_at=now or utcnow(),
    )
    _save_live(verification, AlreadyDone(_l("The request is waiting for review already.")))
    verification.licence_stored_name = uploads.store(licence, extension)
    audit.record("verification", verification.id, "applied", actor, to_state=verification.status)
    db.session.flush()
    return verification


# --- deciding -----------------------------------------------------------------------------------


def _lock_subject(verification):
    if verification.kind == VerificationKind.ORGANIZATION:
        return lock(Organization, verification.organization_id)
    return lock(User, verification.applicant_id)


def approve(actor, verification, reason=None, now=None):
    """A reviewer approves a pending request: its person or organization is verified from now.
    Raises NotFound for who may not review it, NotAllowed for its own side,
    IllegalTransition unless it is pending."""
    verification = lock(Verification, verification.id)
    require_reviewer(actor, verification)
    reason = _reason(reason)
    now = now or utcnow()
    transition(
        verification, VerificationStatus.APPROVED, VERIFICATION_MOVES, actor=actor, reason=reason
    )
    verification.decided_by_id, verification.decided_at = actor.id, now
    verification.decision_reason = reason
    _lock_subject(verification).real_name_verified_at = now
    db.session.flush()
    return verification


def refuse(actor, verification, reason, now=None):
    """A reviewer refuses a pending request with a reason the applicant reads; they may apply
    again. Raises as approve does, and DomainError without a reason."""
    verification = lock(Verification, verification.id)
    require_reviewer(actor, verification)
    reason = _reason(reason, _l("Give the reason for the refusal: the applicant reads it."))
    transition(
        verification, VerificationStatus.REFUSED, VERIFICATION_MOVES, actor=actor, reason=reason
    )
    verification.decided_by_id, verification.decided_at = actor.id, now or utcnow()
    verification.decision_reason = reason
    db.session.flush()
    return verification


def revoke(actor, verification, reason, now=None):
    """The admin revokes an approved verification with a reason: its person or organization is
    no longer verified (and may apply again). Raises NotAllowed for anyone but the admin,
    DomainError without a reason, IllegalTransition unless it is approved."""
    verification = lock(Verification, verification.id)
    if not getattr(actor, "is_admin", False) or is_own(actor, verification):
        raise NotAllowed()
    reason = _reason(reason, _l("Give the reason for the revocation: the applicant reads it."))
    transition(
        verification, VerificationStatus.REVOKED, VERIFICATION_MOVES, actor=actor, reason=reason
    )
    verification.revoked_by_id, verification.revoked_at = actor.id, now or utcnow()
    verification.revocation_reason = reason
    _lock_subject(verification).real_name_verified_at = None
    db.session.flush()
    return verification


def vouch(actor, subject, reason, now=None):
    """Record ``subject`` (a person or an organization) as verified without an application on
    the platform, for what the operator vouches: the demo's people, say. Writes an approved
    request (no ID number, no licence) and its audit row; the admin may revoke it like any
    other. Raises AlreadyDone when the subject is verified already."""
    if subject.real_name_verified:
        raise AlreadyDone(_l("%(name)s is verified already.", name=_name_of(subject)))
    now = now or utcnow()
    organization = subject if isinstance(subject, Organization) else None
    verification = Verification(
        kind=_kind_of(subject),
        applicant_id=subject.id if organization is None else _first_owner_id(organization),
        organization_id=organization.id if organization else None,
        center_id=organization.center_id if organization else None,
        status=VerificationStatus.APPROVED,
        credit_code=organization.credit_code if organization else None,
        created_at=now,
        decided_by_id=getattr(actor, "id", None),
        decided_at=now,
        decision_reason=reason,
    )
    _save_live(verification, AlreadyDone(_l("The request is waiting for review already.")))
    subject.real_name_verified_at = now
    audit.record(
        "verification",
        verification.id,
        "vouched",
        actor,
        to_state=verification.status,
        reason=reason,
    )
    db.session.flush()
    return verification


def _first_owner_id(organization):
    """The organization's first owner, or None (the demo's institute has no members)."""
    query = sa.select(Membership.user_id).filter_by(
        organization_id=organization.id, role=Role.OWNER
    )
    return db.session.scalar(query.order_by(Membership.id).limit(1))
