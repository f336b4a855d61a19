"""Saved payout details: the bank accounts a person (for payouts to themselves) or an
organization (managed by its owners) keeps, to choose one at each payout request.

Only the payee's side sees them, and only masked once entered ("•••• 6789"); the manager who
sends a payout sees the full number of that payout's copy, nowhere else.
"""

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crowdsource.accounts import authz
from crowdsource.accounts.models import Organization, User
from crowdsource.db import db, lock, utcnow
from crowdsource.errors import DomainError, NotAllowed
from crowdsource.payments.models import PayoutDetails

#: how long a bank account number may be, in digits (Chinese bank cards have 16–19, company
#: accounts up to about 25; IBANs are not digits only and are not taken here)
NUMBER_LENGTHS = range(8, 31)
#: what a typed number may be split by (as printed on a card or a statement)
_SEPARATORS = re.compile(r"[\s\-]+")


def account_number(typed, field="bank_account_number"):
    """The digits of a typed account number (spaces and dashes dropped, full-width digits read
    as typed); DomainError at ``field`` for anything else or a length outside NUMBER_LENGTHS."""
    digits = _SEPARATORS.sub("", (typed or "").strip())
    digits = digits.translate({code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)})
    if not digits.isascii() or not digits.isdigit():
        raise DomainError(_l("An account number has digits only."), field=field)
    if len(digits) not in NUMBER_LENGTHS:
        raise DomainError(
            _l(
                "An account number has %(min)d to %(max)d digits.",
                min=NUMBER_LENGTHS.start,
                max=NUMBER_LENGTHS.stop - 1,
            ),
            field=field,
        )
    return digits


def may_manage(actor, owner):
    """May the actor see and change the saved details of ``owner`` (a user: only that person;
    an organization: its owners)?"""
    if not getattr(actor, "is_authenticated", False) or owner is None:
        return False
    if isinstance(owner, User):
        return actor.id == owner.id
    return authz.is_owner(actor, owner)


def may_choose(actor, owner):
    """May the actor pick one of the details of ``owner`` for a payout (the person, or any member
    of the organization, who may ask for its payouts)?"""
    if not getattr(actor, "is_authenticated", False) or owner is None:
        return False
    if isinstance(owner, User):
        return actor.id == owner.id
    return authz.can_act_for(actor, owner)


def owner_of(details):
    return details.user or details.organization


def _same(one, other):
    return type(one) is type(other) and one is not None and one.id == other.id


def _owned_by(owner):
    if isinstance(owner, Organization):
        return PayoutDetails.organization_id == owner.id
    return PayoutDetails.user_id == owner.id


def details_of(owner):
    """The saved details of a person or an organization, oldest first."""
    return list(
        db.session.scalars(
            sa.select(PayoutDetails).where(_owned_by(owner)).order_by(PayoutDetails.id)
        )
    )


def _checked(name, bank, number):
    name, bank = (name or "").strip(), (bank or "").strip()
    if not name:
        raise DomainError(_l("This field is required."), field="bank_account_name")
    if not bank:
        raise DomainError(_l("This field is required."), field="bank_name")
    return name[:200], bank[:200], account_number(number)


def save_details(actor, owner, bank_account_name, bank_name, bank_account_number):
    """Save a new bank account for ``owner``. Raises NotAllowed for anyone who may not manage
    the owner's details, DomainError at the field for a missing name or bank or a number that is
    not 8–30 digits."""
    if not may_manage(actor, owner):
        raise NotAllowed()
    name, bank, number = _checked(bank_account_name, bank_name, bank_account_number)
    details = PayoutDetails(
        user_id=owner.id if isinstance(owner, User) else None,
        organization_id=owner.id if isinstance(owner, Organization) else None,
        bank_account_name=name,
        bank_name=bank,
        bank_account_number=number,
    )
    db.session.add(details)
    db.session.flush()
    return details


def update_details(actor, details, bank_account_name, bank_name, bank_account_number=None):
    """Change saved details; an empty number keeps the stored one. Payouts requested earlier
    keep the copy they made. Raises as save_details."""
    if not may_manage(actor, owner_of(details)):
        raise NotAllowed()
    details = lock(PayoutDetails, details.id)
    keep = not (bank_account_number or "").strip()
    name, bank, number = _checked(
        bank_account_name, bank_name, details.bank_account_number if keep else bank_account_number
    )
    details.bank_account_name, details.bank_name, details.bank_account_number = name, bank, number
    details.updated_at = utcnow()
    db.session.flush()
    return details


def remove_details(actor, details):
    """Delete saved details; payouts that used them keep their copy."""
    if not may_manage(actor, owner_of(details)):
        raise NotAllowed()
    db.session.delete(details)
    db.session.flush()


def chosen(actor, owner, details_id, field="details_id"):
    """The saved details with ``details_id`` if they are the payee ``owner``'s and the actor may
    choose them; else NotAllowed at ``field`` (somebody else's details are never used)."""
    details = db.session.get(PayoutDetails, details_id) if details_id else None
    if details is None or not _same(owner_of(details), owner) or not may_choose(actor, owner):
        raise NotAllowed(_l("Choose one of the saved accounts of the payee."), field=field)
    return details
