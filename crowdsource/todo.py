"""What a signed-in user has to do, per role: the sections of their home page (/home) and the
count the navigation shows beside its "To do" link.

- enterprise member: bids to review, offers waiting for the winner's signature, payments due
  (overdue first), deliveries to accept (with their automatic-release date);
- solver and agency member: offers to sign, deliveries due, payouts to request, and new tasks
  that match their skills or saved searches;
- center manager (and the admin): transfers to confirm (reported ones first), payouts to send,
  verification requests, disputes; the admin also the jobs waiting in the outbox.

A person with several roles gets every section that applies. The navigation's count is one
query (:func:`count`): the items of every section but the new tasks, the payouts to request
(money waiting is not a deadline) and the admin's waiting jobs (the relay empties them).

It reads every package and writes nothing (the read side, like ``stats``).
"""

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from crowdsource import outbox
from crowdsource.accounts import authz, verification
from crowdsource.accounts.models import (
    Membership,
    Organization,
    OrgKind,
    Verification,
    VerificationStatus,
)
from crowdsource.bids.models import Bid, BidStatus
from crowdsource.contracts.models import (
    Contract,
    ContractStatus,
    Milestone,
    MilestoneStatus,
    Offer,
    OfferStatus,
)
from crowdsource.db import db, utcnow
from crowdsource.disputes import services as disputes
from crowdsource.disputes.models import Dispute, DisputeStatus
from crowdsource.payments import payouts, statements, transfers
from crowdsource.payments.models import Funding, FundingStatus, Payout, PayoutStatus
from crowdsource.searches import services as searches
from crowdsource.tasks import access, listing
from crowdsource.tasks.models import Task, TaskStatus

#: how recent a task must be to be "new" on a solver's home page
NEW_TASK_DAYS = 14
#: at most this many new tasks are shown
NEW_TASKS_SHOWN = 10
#: the cases a manager of the case's center hears (appeals: of the appeal's center)
DISPUTES_WAITING = [
    DisputeStatus.OPEN,
    DisputeStatus.RESPONDED,
    DisputeStatus.UNDER_REVIEW,
    DisputeStatus.RULED,
]


@dataclasses.dataclass
class Roles:
    """The organizations a user acts for, by kind, and whether they manage centers."""

    enterprise_ids: list
    agency_ids: list
    #: the user's other organizations (institutions: a payee of an agency's contract)
    other_ids: list
    manages: bool
    is_admin: bool
    #: whether the solver's sections apply: an agency's member, someone with skills or bids,
    #: or anyone neither of an enterprise nor a manager
    bids: bool = True


def roles_of(user, organizations=None, managed_centers=None):
    """The user's roles; ``organizations`` and ``managed_centers`` (when already loaded) save
    queries."""
    if organizations is None:
        organizations = db.session.scalars(
            sa.select(Organization)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user.id)
        ).all()
    return Roles(
        enterprise_ids=[o.id for o in organizations if o.kind == OrgKind.ENTERPRISE],
        agency_ids=[o.id for o in organizations if o.kind == OrgKind.AGENCY],
        other_ids=[
            o.id for o in organizations if o.kind not in (OrgKind.ENTERPRISE, OrgKind.AGENCY)
        ],
        manages=bool(authz.managed_centers(user) if managed_centers is None else managed_centers),
        is_admin=bool(user.is_admin),
    )


# --- the queries, shared by the page and the count ---------------------------------------------


def _bids_to_review(roles):
    """Live bids on the enterprise's tasks that were neither shortlisted nor turned down."""
    return (
        sa.select(Bid)
        .join(Task, Task.id == Bid.task_id)
        .where(
            Bid.status == BidStatus.SUBMITTED,
            Task.organization_id.in_(roles.enterprise_ids),
            Task.status.in_([TaskStatus.OPEN, TaskStatus.CLOSED]),
        )
        .order_by(Bid.id)
    )


def _offers_waiting(roles):
    """The enterprise's open offers awaiting the winner's signature."""
    return (
        sa.select(Offer)
        .join(Task, Task.id == Offer.task_id)
        .where(Offer.status == OfferStatus.OPEN, Task.organization_id.in_(roles.enterprise_ids))
        .order_by(Offer.expires_at, Offer.id)
    )


def _payments_due(roles):
    """Unfunded milestones of the enterprise's active contracts that are due: every earlier
    milestone is settled (transfers.deadline gives the date)."""
    earlier = orm.aliased(Milestone)
    unsettled_before = (
        sa.select(earlier.id)
        .where(
            earlier.contract_id == Milestone.contract_id,
            earlier.position < Milestone.position,
            earlier.settled_at.is_(None),
        )
        .exists()
    )
    return (
        sa.select(Milestone)
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(
            Milestone.status == MilestoneStatus.PENDING,
            Contract.status == ContractStatus.ACTIVE,
            Contract.client_organization_id.in_(roles.enterprise_ids),
            ~unsettled_before,
        )
        .order_by(Milestone.id)
    )


def _deliveries_to_accept(roles):
    """Submitted milestones of the enterprise's contracts, the earliest automatic release
    first."""
    return (
        sa.select(Milestone)
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(
            Milestone.status == MilestoneStatus.SUBMITTED,
            Contract.client_organization_id.in_(roles.enterprise_ids),
        )
        .order_by(Milestone.review_due_at, Milestone.id)
    )


def _bidder_condition(user, roles):
    return sa.or_(Bid.bidder_id == user.id, Bid.agency_id.in_(roles.agency_ids))


def _offers_to_sign(user, roles, now):
    """Open, unexpired offers made to the user's bids or their agency's."""
    return (
        sa.select(Offer)
        .join(Bid, Bid.id == Offer.bid_id)
        .where(
            Offer.status == OfferStatus.OPEN,
            Offer.expires_at > now,
            _bidder_condition(user, roles),
        )
        .order_by(Offer.expires_at, Offer.id)
    )


def _deliveries_due(user, roles):
    """Funded milestones of the user's (or their agency's) active contracts, not yet
    delivered, by due date."""
    return (
        sa.select(Milestone)
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(
            Milestone.status == MilestoneStatus.FUNDED,
            Contract.status == ContractStatus.ACTIVE,
            sa.or_(Contract.solver_id == user.id, Contract.agency_id.in_(roles.agency_ids)),
        )
        .order_by(Milestone.due_date, Milestone.id)
    )


def _managers_queues(user, roles):
    """The managers' queues as SQL (the admin's: all centers), counted for the navigation:
    the conditions of funding.transfers_to_confirm, payouts.payouts_to_send,
    verification.queue and disputes.queue (a case of the manager's own party left out)."""
    centers = authz.managed_center_ids(user)
    own = roles.enterprise_ids + roles.agency_ids + roles.other_ids

    def in_centers(column):
        return column.in_(centers) if centers is not None else sa.true()

    transfers_waiting = (
        sa.select(Funding.id)
        .join(Milestone, Milestone.id == Funding.milestone_id)
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(
            Funding.status == FundingStatus.PENDING,
            Funding.provider == "manual",
            in_centers(Contract.center_id),
        )
    )
    payouts_waiting = (
        sa.select(Payout.id)
        .join(Contract, Contract.id == Payout.contract_id)
        .where(
            Payout.status == PayoutStatus.REQUESTED,
            Payout.provider == "manual",
            in_centers(Contract.center_id),
        )
    )
    verifications_waiting = sa.select(Verification.id).where(
        Verification.status == VerificationStatus.PENDING,
        Verification.applicant_id != user.id,
        in_centers(Verification.center_id),
        sa.or_(Verification.organization_id.is_(None), Verification.organization_id.not_in(own))
        if own
        else sa.true(),
    )
    hearing = sa.or_(
        Dispute.status.in_(DISPUTES_WAITING) & in_centers(Dispute.center_id),
        (Dispute.status == DisputeStatus.APPEALED) & in_centers(Dispute.appeal_center_id),
    )
    party = sa.or_(
        Contract.solver_id == user.id,
        sa.func.coalesce(Contract.payee_user_id, 0) == user.id,
        *(
            sa.func.coalesce(column, 0).in_(own)
            for column in (
                Contract.client_organization_id,
                Contract.agency_id,
                Contract.payee_organization_id,
            )
        ),
    )
    first_ruler = (Dispute.status == DisputeStatus.APPEALED) & (
        sa.func.coalesce(Dispute.manager_id, 0) == user.id
    )
    disputes_waiting = (
        sa.select(Dispute.id)
        .join(Contract, Contract.id == Dispute.contract_id)
        .where(hearing, ~party, ~first_ruler)
    )
    return [transfers_waiting, payouts_waiting, verifications_waiting, disputes_waiting]


def _counted(query):
    return sa.select(sa.func.count()).select_from(query.order_by(None).subquery()).scalar_subquery()


def count(user, organizations=None, managed_centers=None):
    """How many items wait for the user (the navigation's badge): one query (and, for a
    manager, the one that finds their centers)."""
    roles = roles_of(user, organizations, managed_centers)
    now = utcnow()
    queries = [_offers_to_sign(user, roles, now), _deliveries_due(user, roles)]
    if roles.enterprise_ids:
        queries += [
            _bids_to_review(roles),
            _offers_waiting(roles),
            _payments_due(roles),
            _deliveries_to_accept(roles),
        ]
    if roles.manages or roles.is_admin:
        queries += _managers_queues(user, roles)
    total = sa.literal(0)
    for query in queries:
        total = total + _counted(query)
    return db.session.scalar(sa.select(total))


# --- the page ----------------------------------------------------------------------------------


def _saved_search_matches(user, since):
    """Ids of the tasks published since ``since`` that one of the user's saved searches finds
    (run through the task list's own filters, as their digests are)."""
    found = set()
    user_searches = searches.searches_of(user)
    if not user_searches:
        return found
    choices = searches.center_choices()
    for search in user_searches:
        form = searches.filter_form(search.arguments, choices)
        query = listing.filtered_tasks(user, form).where(Task.published_at >= since)
        found.update(db.session.scalars(query.with_only_columns(Task.id).limit(200)))
    return found


def _matching_tasks(user, roles, now):
    """Open tasks published in the last NEW_TASK_DAYS that the user may see, not of their own
    organizations, which ask for one of the user's skills or which one of their saved searches
    finds; the newest such tasks when the user has named no skill and saved no search.
    Returns (tasks, matched)."""
    own = roles.enterprise_ids + roles.agency_ids + roles.other_ids
    since = now - dt.timedelta(days=NEW_TASK_DAYS)
    query = (
        sa.select(Task)
        .where(
            access.visible_condition(user),
            Task.status == TaskStatus.OPEN,
            Task.bid_deadline > now,
            Task.published_at >= since,
            Task.organization_id.not_in(own) if own else sa.true(),
        )
        .order_by(Task.published_at.desc(), Task.id.desc())
    )
    skills = {skill.casefold() for skill in (user.skills or [])}
    searched = _saved_search_matches(user, since)
    if not skills and not searched:
        return db.session.scalars(query.limit(NEW_TASKS_SHOWN)).all(), False
    matching = [
        task
        for task in db.session.scalars(query.limit(200))
        if task.id in searched or skills & {skill.casefold() for skill in (task.skills or [])}
    ]
    return matching[:NEW_TASKS_SHOWN], True


def _available_payouts(user):
    """The user's payables with money on them and no payout request open."""
    return [
        line
        for line in statements.payables_of(user)
        if line.balance > 0 and payouts.open_payout(line.account) is None
    ]


def _payments_due_rows(roles, now):
    """(milestone, status, deadline): overdue first, then by deadline."""
    rows = []
    for milestone in db.session.scalars(_payments_due(roles)):
        due = transfers.deadline(milestone)
        rows.append((milestone, transfers.status_of(milestone, now), due))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    rows.sort(key=lambda row: row[2] or far)
    return rows


def sections(user):
    """Everything on the user's home page, by section name (only the sections of the user's
    roles; a section may be an empty list)."""
    now = utcnow()
    roles = roles_of(user)
    shown = {"now": now, "roles": roles}
    if roles.enterprise_ids:
        shown["bids_to_review"] = db.session.scalars(_bids_to_review(roles)).all()
        shown["offers_waiting"] = db.session.scalars(_offers_waiting(roles)).all()
        shown["payments_due"] = _payments_due_rows(roles, now)
        shown["deliveries_to_accept"] = db.session.scalars(_deliveries_to_accept(roles)).all()
    roles.bids = bool(
        roles.agency_ids
        or user.skills
        or not (roles.enterprise_ids or roles.manages or roles.is_admin)
        or db.session.scalar(sa.select(sa.exists().where(Bid.bidder_id == user.id)))
    )
    if roles.bids:
        shown["offers_to_sign"] = db.session.scalars(_offers_to_sign(user, roles, now)).all()
        shown["deliveries_due"] = db.session.scalars(_deliveries_due(user, roles)).all()
        shown["new_tasks"], shown["tasks_match_skills"] = _matching_tasks(user, roles, now)
    # an enterprise's refund is money to request too
    shown["payouts"] = _available_payouts(user)
    if roles.manages or roles.is_admin:
        shown["transfers"] = transfers.queue(user, now)
        shown["payouts_to_send"] = payouts.payouts_to_send(user)
        shown["verifications"] = verification.queue(user)
        shown["disputes"] = sorted(
            disputes.queue(user, now), key=lambda row: (not row[1], row[0].respond_by)
        )
    if roles.is_admin:
        shown["jobs_waiting"], shown["jobs_waiting_since"], _ = outbox.waiting()
    return shown
