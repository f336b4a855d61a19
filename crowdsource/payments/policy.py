"""Commission policy: the platform default, overridden per center (for its whole subtree) and
per contract type by the center's managers and the admin. The policy in force is copied onto a
contract when it is awarded."""

import dataclasses

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from crowdsource.accounts import authz
from crowdsource.accounts.models import Center
from crowdsource.db import db, lock_one, utcnow
from crowdsource.errors import DomainError, NotAllowed
from crowdsource.payments.models import CommissionPolicy

#: the platform default when no policy row exists: 5 % commission, no fees, no center share
DEFAULT_COMMISSION_BPS = 500


@dataclasses.dataclass(frozen=True)
class PolicyRates:
    commission_bps: int
    client_fee_bps: int
    center_share_bps: int
    max_brokerage_bps: int
    #: the policy row that applies, or None for the built-in default
    source: CommissionPolicy | None = None


def scope_of(center_id, contract_type):
    return f"{center_id or '*'}:{contract_type or '*'}"


def builtin_default():
    return PolicyRates(
        commission_bps=DEFAULT_COMMISSION_BPS,
        client_fee_bps=0,
        center_share_bps=0,
        max_brokerage_bps=current_app.config["MAX_BROKERAGE_BPS"],
    )


def in_force(center, contract_type):
    """The rates for a contract of ``contract_type`` in ``center``: the most specific policy of
    the center or its nearest ancestor (a type-specific one before a general one), else the
    platform's."""
    scopes = []
    for center_id in reversed(center.ancestor_ids):
        scopes += [scope_of(center_id, contract_type), scope_of(center_id, None)]
    scopes += [scope_of(None, contract_type), scope_of(None, None)]
    rows = {
        row.scope: row
        for row in db.session.scalars(
            sa.select(CommissionPolicy).where(CommissionPolicy.scope.in_(scopes))
        )
    }
    for scope in scopes:
        if scope in rows:
            row = rows[scope]
            return PolicyRates(
                row.commission_bps,
                row.client_fee_bps,
                row.center_share_bps,
                row.max_brokerage_bps,
                row,
            )
    return builtin_default()


def may_set(actor, center):
    """The admin sets any policy; a center's managers set those of their subtree."""
    if center is None:
        return getattr(actor, "is_admin", False)
    return authz.manages_center(actor, center)


def set_policy(
    actor,
    center,
    contract_type,
    commission_bps,
    client_fee_bps,
    center_share_bps,
    max_brokerage_bps,
):
    """Create or change the policy of a scope. Signed contracts keep their copies.

    Raises NotAllowed outside the actor's centers, DomainError for impossible rates.
    """
    if not may_set(actor, center):
        raise NotAllowed()
    rates = (commission_bps, client_fee_bps, center_share_bps, max_brokerage_bps)
    if any(rate < 0 or rate > 5000 for rate in rates):
        raise DomainError(_l("Each rate is between 0 % and 50 %."), field="commission")
    if commission_bps + center_share_bps + max_brokerage_bps > 10000:
        raise DomainError(
            _l("Commission, center share and brokerage together exceed 100 %."), field="commission"
        )
    scope = scope_of(center.id if center else None, contract_type)
    policy = lock_one(sa.select(CommissionPolicy).filter_by(scope=scope))
    if policy is None:
        policy = CommissionPolicy(
            scope=scope, center_id=center.id if center else None, contract_type=contract_type
        )
        db.session.add(policy)
    policy.commission_bps = commission_bps
    policy.client_fee_bps = client_fee_bps
    policy.center_share_bps = center_share_bps
    policy.max_brokerage_bps = max_brokerage_bps
    policy.updated_by_id = actor.id
    policy.updated_at = utcnow()
    db.session.flush()
    return policy


def remove_policy(actor, policy):
    """Drop a center's override (the platform default cannot be removed)."""
    center = db.session.get(Center, policy.center_id) if policy.center_id else None
    if center is None:
        raise DomainError(_l("The platform default cannot be removed, only changed."))
    if not may_set(actor, center):
        raise NotAllowed()
    db.session.delete(policy)
    db.session.flush()


def visible_policies(actor):
    """The policies the actor may see and change, most general first."""
    query = sa.select(CommissionPolicy).order_by(CommissionPolicy.scope)
    rows = db.session.scalars(query).all()
    return [row for row in rows if may_set(actor, row.center) or actor.is_admin]
