"""Bid services: placing, editing and withdrawing bids; shortlisting and rejecting (awarding is
an offer: crowdsource.bids.offers).

Each function checks the actor's right, changes objects and flushes; the caller commits.
"""

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from crowdsource.accounts import authz
from crowdsource.accounts.models import Organization, OrgKind
from crowdsource.bids.models import BID_MOVES, LIVE_STATES, Bid, BidMilestone, BidStatus
from crowdsource.contracts import services as contracts
from crowdsource.contracts.models import Contract
from crowdsource.db import db, relock, utcnow
from crowdsource.errors import Conflict, DomainError, NotAllowed, NotFound
from crowdsource.lifecycle import transition
from crowdsource.money import format_bps, format_money
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import Amount, notify
from crowdsource.payments import policy
from crowdsource.tasks import access
from crowdsource.tasks import services as tasks

MAX_MILESTONES = 12


@dataclasses.dataclass
class ProposedMilestone:
    title: str
    amount_fen: int
    due_date: dt.date


@dataclasses.dataclass
class BidDetails:
    """What a bidder offers."""

    price_fen: int
    duration_days: int
    proposal: str
    milestones: list
    #: bid for this agency (an Organization), or None to bid as an individual
    agency: Organization | None = None
    #: the institution to be paid, when an agency brokers for it
    payee_organization: Organization | None = None
    brokerage_bps: int = 0


def _link(bid):
    return f"/bids/{bid.id}"


def _check(actor, task, details, now):
    tasks.require("bid", actor, task, now)
    if details.agency is not None and (
        details.agency.kind != OrgKind.AGENCY or not authz.can_act_for(actor, details.agency)
    ):
        raise NotAllowed(_l("You can only bid for an agency you are a member of."))
    if details.payee_organization is not None:
        if details.agency is None:
            raise DomainError(
                _l("Only an agency can bid for a payee institution."), field="payee_organization_id"
            )
        payee = details.payee_organization
        if payee.kind != OrgKind.INSTITUTION or payee.id == task.organization_id:
            raise DomainError(
                _l("Choose an institution other than the agency and the enterprise."),
                field="payee_organization_id",
            )
    cap = policy.in_force(task.center, task.contract_type).max_brokerage_bps
    if details.brokerage_bps and details.payee_organization is None:
        raise DomainError(_l("A brokerage rate needs a payee institution."), field="brokerage")
    if not 0 <= details.brokerage_bps <= cap:
        raise DomainError(
            _l("The brokerage rate may be at most %(cap)s.", cap=format_bps(cap)), field="brokerage"
        )
    if details.duration_days <= 0:
        raise DomainError(_l("The duration is at least one day."), field="duration_days")
    if not 1 <= len(details.milestones) <= MAX_MILESTONES:
        raise DomainError(
            _l("Propose between 1 and %(count)d milestones.", count=MAX_MILESTONES),
            field="milestones",
        )
    if any(m.amount_fen <= 0 for m in details.milestones):
        raise DomainError(_l("Every milestone has an amount above zero."), field="milestones")
    total = sum(m.amount_fen for m in details.milestones)
    if total != details.price_fen:
        raise DomainError(
            _l(
                "The milestones add up to %(total)s, not the price %(price)s.",
                total=format_money(total),
                price=format_money(details.price_fen),
            ),
            field="milestones",
        )
    if any(m.due_date < now.date() for m in details.milestones):
        raise DomainError(_l("Milestone due dates cannot be in the past."), field="milestones")


def _set_milestones(bid, milestones):
    bid.milestones.clear()
    db.session.flush()
    for position, milestone in enumerate(milestones, start=1):
        bid.milestones.append(
            BidMilestone(
                position=position,
                title=milestone.title.strip(),
                amount_fen=milestone.amount_fen,
                due_date=milestone.due_date,
            )
        )


def _lock_task_for_bidding(task):
    """Share-lock the task: bids go in side by side, but not while its state changes."""
    return relock(task, read=True)


def place_bid(actor, task, details, now=None):
    """Submit a bid; the enterprise's members are told.

    Raises DomainError/NotAllowed when the bid breaks a rule, Conflict when the bidder already
    has a live bid on the task.
    """
    now = now or utcnow()
    access.require_view(actor, task)
    task = _lock_task_for_bidding(task)
    _check(actor, task, details, now)
    bidder_key = f"agency:{details.agency.id}" if details.agency else f"user:{actor.id}"
    bid = Bid(
        task_id=task.id,
        bidder_id=actor.id,
        agency_id=details.agency.id if details.agency else None,
        bidder_key=bidder_key,
        payee_organization_id=(
            details.payee_organization.id if details.payee_organization else None
        ),
        brokerage_bps=details.brokerage_bps,
        price_fen=details.price_fen,
        duration_days=details.duration_days,
        proposal=details.proposal,
        created_at=now,
        updated_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(bid)
            db.session.flush()
    except IntegrityError:
        raise Conflict(
            _l("There is already a live bid from you on this task: edit it instead."),
            field="price",
        ) from None
    _set_milestones(bid, details.milestones)
    members = task.organization.members
    notify(
        members,
        Kind.BID_SUBMITTED,
        f"/tasks/{task.id}/bids",
        task,
        task=task.title,
        amount=Amount(bid.price_fen),
    )
    db.session.flush()
    return bid


def is_bidder(user, bid):
    """The person who bid, or a member of the agency that bid."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.id == bid.bidder_id:
        return True
    return bid.agency is not None and authz.can_act_for(user, bid.agency)


def can_view(user, bid):
    """The bidder's side, the enterprise, the task's center managers and the admin; and, for
    the winning bid, whoever may see its contract (the payee institution)."""
    if is_bidder(user, bid):
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    if access.is_member(user, bid.task) or user.is_admin or authz.manages_center_of(user, bid.task):
        return True
    # the winning bid is part of its contract, for everyone who may see that
    contract = db.session.scalar(sa.select(Contract).where(Contract.bid_id == bid.id))
    return contract is not None and contracts.can_view(user, contract)


def require_view(user, bid):
    if not can_view(user, bid):
        raise NotFound()


def _lock(bid):
    relock(bid)
    return bid


def update_bid(actor, bid, details, now=None):
    """The bidder changes a live bid while the task accepts bids."""
    now = now or utcnow()
    require_view(actor, bid)
    if not is_bidder(actor, bid):
        raise NotAllowed()
    task = _lock_task_for_bidding(bid.task)
    bid = _lock(bid)
    if not bid.is_live:
        raise DomainError(_l("Only a live bid can be changed."))
    if (details.agency.id if details.agency else None) != bid.agency_id:
        raise DomainError(_l("A bid cannot move between an agency and an individual."))
    _check(actor, task, details, now)
    bid.payee_organization_id = (
        details.payee_organization.id if details.payee_organization else None
    )
    bid.brokerage_bps = details.brokerage_bps
    bid.price_fen = details.price_fen
    bid.duration_days = details.duration_days
    bid.proposal = details.proposal
    bid.updated_at = now
    _set_milestones(bid, details.milestones)
    db.session.flush()
    return bid


def withdraw_bid(actor, bid, now=None):
    """The bidder withdraws a live bid before the deadline."""
    require_view(actor, bid)
    if not is_bidder(actor, bid):
        raise NotAllowed()
    task = _lock_task_for_bidding(bid.task)
    bid = _lock(bid)
    if not task.accepts_bids(now or utcnow()):
        raise DomainError(_l("Bids can only be withdrawn before the deadline."))
    transition(bid, BidStatus.WITHDRAWN, BID_MOVES, actor=actor)
    db.session.flush()
    return bid


def _require_enterprise(actor, bid):
    require_view(actor, bid)
    if not access.is_member(actor, bid.task):
        raise NotAllowed()


def shortlist_bid(actor, bid):
    """The enterprise puts a submitted bid on its shortlist; the bidder's side is told."""
    _require_enterprise(actor, bid)
    bid = _lock(bid)
    transition(bid, BidStatus.SHORTLISTED, BID_MOVES, actor=actor)
    task = bid.task
    notify(bid.bidder_side, Kind.BID_SHORTLISTED, _link(bid), task, task=task.title)
    db.session.flush()
    return bid


def reject_bid(actor, bid, reason=None):
    """The enterprise turns a live bid down, with an optional reason; the bidder's side is told."""
    _require_enterprise(actor, bid)
    bid = _lock(bid)
    transition(bid, BidStatus.REJECTED, BID_MOVES, actor=actor)
    bid.rejection_reason = (reason or "").strip() or None
    task = bid.task
    notify(
        bid.bidder_side,
        Kind.BID_REJECTED,
        _link(bid),
        task,
        task=task.title,
        reason=bid.rejection_reason or "",
    )
    db.session.flush()
    return bid


def live_bid_of(user, task, agency=None):
    """The user's (or their agency's) live bid on the task, or None."""
    key = f"agency:{agency.id}" if agency else f"user:{user.id}"
    return db.session.scalar(
        sa.select(Bid).where(
            Bid.task_id == task.id, Bid.bidder_key == key, Bid.status.in_(LIVE_STATES)
        )
    )


def withdraw_bids_of(user, actor, reason):
    """Withdraw every live bid ``user`` placed (their account is suspended); returns how
    many. Each move is a transition with its audit row, by ``actor``."""
    bids = db.session.scalars(
        sa.select(Bid).where(Bid.bidder_id == user.id, Bid.status.in_(LIVE_STATES))
    ).all()
    for bid in bids:
        bid = _lock(bid)
        if bid.status in LIVE_STATES:
            transition(bid, BidStatus.WITHDRAWN, BID_MOVES, actor=actor, reason=reason)
    db.session.flush()
    return len(bids)
