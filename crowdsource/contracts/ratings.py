"""Ratings after a completed contract, and the credit profiles of users and organizations.

Once a contract is completed, each side rates the other once: a score of 1–5 and an optional
comment. The enterprise rates the solver's side (the agency, if one bid, else the solver); the
solver's side rates the enterprise. A rating stays hidden until the other side has rated too —
then both show at once — or until RATING_VISIBLE_DAYS after the contract completed, when the
sweep publishes it. The rating period ends then, so that nobody rates after reading what the
other side wrote about them.

A credit profile sums up a party's record from the rows, with aggregate queries: completed
contracts and their value, the share of delivered milestones whose first delivery was on time,
disputes its side opened and final rulings it lost, and its average visible rating.
"""

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from crowdsource.contracts import sides as contract_sides
from crowdsource.contracts.models import (
    Contract,
    ContractStatus,
    Delivery,
    Milestone,
    Rating,
    Side,
)
from crowdsource.db import db, lock, utcnow
from crowdsource.disputes.models import Dispute, DisputeStatus
from crowdsource.errors import Conflict, DomainError, NotAllowed
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import notify

#: the longest comment a rating may carry, in characters
COMMENT_MAX_LENGTH = 2000
SCORES = range(1, 6)


class AlreadyRated(Conflict):
    """The side has rated this contract already (a second click, or a colleague was faster)."""

    default_message = _l("Your side has already rated this contract; a rating cannot be changed.")


# --- rating --------------------------------------------------------------------------------


def rating_closes_at(contract):
    """When the rating period of a completed contract ends (and hidden ratings are shown)."""
    if contract.completed_at is None:
        return None
    return contract.completed_at + dt.timedelta(days=current_app.config["RATING_VISIBLE_DAYS"])


def rated_party(contract, rater_side):
    """Who a side rates, as (user id, organization id) with exactly one set: the enterprise
    rates the agency if one bid, else the solver; the solver's side rates the enterprise."""
    if rater_side == Side.SOLVER:
        return None, contract.client_organization_id
    if contract.agency_id is not None:
        return None, contract.agency_id
    return contract.solver_id, None


def other_side(side):
    return Side.SOLVER if side == Side.CLIENT else Side.CLIENT


def rate(actor, contract, score, comment="", now=None):
    """The actor rates the other side of a completed contract for their side, once.

    If the other side has rated already, both ratings become visible now; the rated side is
    notified either way (without the score). Raises NotAllowed for anyone but a party,
    Conflict when the contract is not completed or the rating period ended, AlreadyRated when
    the actor's side has rated (also when a concurrent attempt won), and DomainError for a
    score outside 1–5 or a comment longer than COMMENT_MAX_LENGTH."""
    now = now or utcnow()
    # The contract's row lock serialises the two sides: whoever rates second sees the first
    # rating and shows both, so two ratings racing each other never both stay hidden.
    contract = _lock_contract(contract.id)
    side = contract_sides.side_of(actor, contract)
    if side is None:
        raise NotAllowed(_l("Only the parties of a contract can rate it."))
    if contract.status != ContractStatus.COMPLETED:
        raise Conflict(_l("A contract can be rated once it is completed."))
    closes_at = rating_closes_at(contract)
    if closes_at is not None and now >= closes_at:
        raise Conflict(_l("The rating period of this contract has ended."))
    if _rating_of(contract, side) is not None:
        raise AlreadyRated()
    score = _checked_score(score)
    comment = _checked_comment(comment)
    rated_user_id, rated_organization_id = rated_party(contract, side)
    rating = Rating(
        contract_id=contract.id,
        rater_side=side,
        rater_id=actor.id,
        rated_user_id=rated_user_id,
        rated_organization_id=rated_organization_id,
        score=score,
        comment=comment,
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(rating)
    except IntegrityError:
        # Without a row lock (SQLite) the unique (contract, side) constraint decides the race.
        raise AlreadyRated() from None
    first = _rating_of(contract, other_side(side))
    if first is not None:
        rating.visible_at = now
        if first.visible_at is None:
            first.visible_at = now
    people = (
        contract_sides.client_side(contract)
        if side == Side.SOLVER
        else contract_sides.solver_side(contract)
    )
    notify(
        people,
        Kind.RATING_RECEIVED,
        f"/contracts/{contract.id}",
        contract.task,
        number=contract.number,
    )
    db.session.flush()
    return rating


def sweep_due(now=None):
    """Show every rating still hidden whose contract completed RATING_VISIBLE_DAYS ago or
    more; returns how many were shown."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=current_app.config["RATING_VISIBLE_DAYS"])
    long_completed = sa.select(Contract.id).where(
        Contract.status == ContractStatus.COMPLETED, Contract.completed_at <= cutoff
    )
    result = db.session.execute(
        sa.update(Rating)
        .where(Rating.visible_at.is_(None), Rating.contract_id.in_(long_completed))
        .values(visible_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _lock_contract(contract_id):
    return lock(Contract, contract_id)


def _rating_of(contract, side):
    return db.session.scalar(sa.select(Rating).filter_by(contract_id=contract.id, rater_side=side))


def _checked_score(score):
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        raise DomainError(_l("Choose a score from 1 to 5."))
    return score


def _checked_comment(comment):
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise DomainError(
            _l(
                "The comment is too long: at most %(max)d characters, please.",
                max=COMMENT_MAX_LENGTH,
            )
        )
    return comment


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractRatings:
    """The ratings of one contract as a viewer may see them."""

    #: the viewer's side's rating (seen by its own side even while hidden), or None
    mine: Rating | None
    #: whether the other side has rated (its rating may still be hidden)
    other_rated: bool
    #: the visible ratings, the enterprise's first
    visible: list
    #: when the rating period ends and hidden ratings show (None: not completed)
    closes_at: dt.datetime | None
    #: whether the viewer may rate now
    can_rate: bool
    #: whether the contract has ratings at all (it is completed)
    open: bool
    #: the name of who the viewer's side rates (None: not a party)
    rated_name: str | None


def contract_ratings(contract, side, now=None):
    """What the contract page shows about ratings to a viewer on ``side`` (None: not a
    party, e.g. a manager of the center, who sees only the visible ratings)."""
    now = now or utcnow()
    ratings = {
        rating.rater_side: rating
        for rating in db.session.scalars(sa.select(Rating).filter_by(contract_id=contract.id))
    }
    closes_at = rating_closes_at(contract)
    mine = ratings.get(side) if side else None
    return ContractRatings(
        mine=mine,
        other_rated=bool(side) and other_side(side) in ratings,
        visible=[
            ratings[key]
            for key in (Side.CLIENT, Side.SOLVER)
            if key in ratings and ratings[key].visible_at is not None
        ],
        closes_at=closes_at,
        can_rate=bool(side)
        and mine is None
        and contract.status == ContractStatus.COMPLETED
        and closes_at is not None
        and now < closes_at,
        open=contract.status == ContractStatus.COMPLETED,
        rated_name=_rated_name(contract, side) if side else None,
    )


def _rated_name(contract, rater_side):
    if rater_side == Side.SOLVER:
        return contract.client_organization.name
    if contract.agency is not None:
        return contract.agency.name
    return contract.solver.display_name


@dataclass(frozen=True)
class CreditProfile:
    """A party's record on the platform, as its public profile shows it."""

    completed_contracts: int
    #: the sum of the prices of those contracts, in fen
    total_value_fen: int
    #: milestones its side delivered, and of those the ones whose first delivery was on time
    milestones_delivered: int
    delivered_on_time: int
    #: disputes its side opened (any state), and final rulings its side lost
    disputes_opened: int
    disputes_lost: int
    #: visible ratings of it
    rating_count: int
    rating_total: int

    @property
    def on_time_bps(self):
        """The on-time delivery rate in basis points (None: nothing delivered yet)."""
        if not self.milestones_delivered:
            return None
        return round(self.delivered_on_time * 10_000 / self.milestones_delivered)

    @property
    def average_rating(self):
        """The average visible score, to one decimal (None: no visible rating)."""
        if not self.rating_count:
            return None
        return round(self.rating_total / self.rating_count, 1)


def credit_profile(user=None, organization=None):
    """The credit profile of a user (as an individual solver: contracts they bid on and won, or
    are paid for) or of an organization (as the enterprise, the agency or the payee).

    Disputes count for the side the party was on: those its side opened, and the final ones
    whose ruling its side lost."""
    sides = _party_sides(user, organization)
    party = sa.or_(*(condition for condition, _side in sides))
    solver_side = sa.or_(sa.false(), *(cond for cond, side in sides if side == Side.SOLVER))
    completed, total = db.session.execute(
        sa.select(sa.func.count(Contract.id), sa.func.coalesce(sa.func.sum(Contract.price_fen), 0))
        .where(Contract.status == ContractStatus.COMPLETED)
        .where(party)
    ).one()
    # Each delivered milestone counts once, by its first delivery (oldest first, as the
    # contract page lists them): a late delivery stays late even if a later one was on time.
    deliveries = (
        sa.select(
            Delivery.on_time,
            sa.func.row_number()
            .over(
                partition_by=Delivery.milestone_id,
                order_by=(Delivery.created_at, Delivery.id),
            )
            .label("number"),
        )
        .join(Milestone, Milestone.id == Delivery.milestone_id)
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(solver_side)
        .subquery()
    )
    delivered, on_time = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(sa.case((deliveries.c.on_time.is_(True), 1))),
        ).where(deliveries.c.number == 1)
    ).one()
    opened_by_party = sa.or_(
        *(sa.and_(cond, Dispute.opened_by_side == side) for cond, side in sides)
    )
    lost_by_party = sa.and_(
        Dispute.status == DisputeStatus.FINAL,
        sa.or_(*(sa.and_(cond, Dispute.lost_by_side == side) for cond, side in sides)),
    )
    opened, lost = db.session.execute(
        sa.select(
            sa.func.count(sa.case((opened_by_party, Dispute.id))),
            sa.func.count(sa.case((lost_by_party, Dispute.id))),
        )
        .join(Contract, Contract.id == Dispute.contract_id)
        .where(party)
    ).one()
    rating_count, rating_total = db.session.execute(
        sa.select(sa.func.count(Rating.id), sa.func.coalesce(sa.func.sum(Rating.score), 0)).where(
            _rated(user, organization), Rating.visible_at.is_not(None)
        )
    ).one()
    return CreditProfile(
        completed_contracts=completed,
        total_value_fen=int(total),
        milestones_delivered=delivered,
        delivered_on_time=on_time,
        disputes_opened=opened,
        disputes_lost=lost,
        rating_count=rating_count,
        rating_total=int(rating_total),
    )


def visible_ratings(user=None, organization=None, limit=20):
    """The latest visible ratings of a user or an organization, newest first."""
    return db.session.scalars(
        sa.select(Rating)
        .where(_rated(user, organization), Rating.visible_at.is_not(None))
        .order_by(Rating.visible_at.desc(), Rating.id.desc())
        .limit(limit)
    ).all()


def _party_sides(user, organization):
    """(condition on Contract, side) for each way the party takes part in a contract."""
    if (user is None) == (organization is None):
        raise ValueError("give a user or an organization")
    if user is not None:
        return [
            (sa.or_(Contract.solver_id == user.id, Contract.payee_user_id == user.id), Side.SOLVER)
        ]
    return [
        (Contract.client_organization_id == organization.id, Side.CLIENT),
        (
            sa.or_(
                Contract.agency_id == organization.id,
                Contract.payee_organization_id == organization.id,
            ),
            Side.SOLVER,
        ),
    ]


def _rated(user, organization):
    if user is not None:
        return Rating.rated_user_id == user.id
    return Rating.rated_organization_id == organization.id
