"""Task services: posting, editing with a change history, publishing, closing, cancelling,
invitations, NDA acceptance and the deadline sweep; and what a user may do with a task.

Each function checks the actor's right (NotAllowed/NotFound), changes objects and flushes;
the caller's transaction commits. The rules of who may do what with a task are written once,
in :data:`RULES`: the services (here, in questions, attachments and bids) raise the refusal a
rule gives, and the task page shows exactly the actions :func:`allowed_actions` returns.
"""

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crowdsource.accounts import authz, verification
from crowdsource.accounts.models import Center, Organization, OrgKind
from crowdsource.bids.models import BID_MOVES, LIVE_STATES, Bid, BidStatus
from crowdsource.contracts.models import OFFER_MOVES, Offer, OfferStatus
from crowdsource.db import db, relock, utcnow
from crowdsource.db import lock as db_lock
from crowdsource.errors import Conflict, DomainError, IllegalTransition, NotAllowed, NotFound
from crowdsource.lifecycle import SYSTEM, transition
from crowdsource.money import format_money
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import notify
from crowdsource.tasks import access, search
from crowdsource.tasks.models import (
    TASK_MOVES,
    BidMode,
    ContractType,
    IPTerms,
    NdaAcceptance,
    Task,
    TaskInvitation,
    TaskRevision,
    TaskSearchTerm,
    TaskStatus,
    TaskTag,
    Visibility,
)

#: fields that may change once a task is published (the terms bidders rely on may not)
EDITABLE_WHEN_OPEN = (
    "title",
    "summary",
    "description",
    "fields",
    "skills",
    "budget_min_fen",
    "budget_max_fen",
    "bid_deadline",
    "delivery_date",
)


@dataclasses.dataclass
class TaskDetails:
    """What the enterprise says about a task."""

    title: str
    summary: str
    description: str
    contract_type: ContractType
    fields: list
    skills: list
    budget_min_fen: int
    budget_max_fen: int
    bid_deadline: dt.datetime
    delivery_date: dt.date
    center_id: int
    visibility: Visibility = Visibility.PUBLIC
    bid_mode: BidMode = BidMode.SEALED
    ip_terms: IPTerms = IPTerms.ASSIGNED
    nda_required: bool = False
    #: users and agencies invited to an invite-only task
    invited_users: list = dataclasses.field(default_factory=list)
    invited_organizations: list = dataclasses.field(default_factory=list)


# --- what a user may do with a task ----------------------------------------------------------


def _authenticated(actor):
    return actor is not None and getattr(actor, "is_authenticated", False)


def _as_member(actor, task):
    """NotFound for who may not see the task, NotAllowed for who does not act for its
    enterprise, else None."""
    if not access.can_view(actor, task):
        return NotFound()
    if not access.is_member(actor, task):
        return NotAllowed()
    return None


def _not_now(task):
    return IllegalTransition(
        _l("This action is not possible now: it is %(current)s.", current=task.status.label)
    )


def _may_edit(actor, task, now):
    if refused := _as_member(actor, task):
        return refused
    if task.status == TaskStatus.DRAFT or task.accepts_bids(now):
        return None
    # a passed deadline ends bidding even before the sweep has run
    return DomainError(_l("Only a draft or a task open for bids can be edited."))


def _may_publish(actor, task, now):
    if refused := (
        _as_member(actor, task)
        or authz.unverified_refusal(actor)
        or verification.unverified_refusal(task.organization, "publish")
    ):
        return refused
    if task.status != TaskStatus.DRAFT:
        return _not_now(task)
    if task.bid_deadline <= now:
        return DomainError(_l("The bid deadline has passed: set a new one before publishing."))
    return None


def _may_close(actor, task, now):
    if refused := _as_member(actor, task):
        return refused
    if task.status != TaskStatus.OPEN:
        return IllegalTransition(_l("Bidding on this task has already ended."))
    if not _live_bids(task):
        return DomainError(_l("There are no bids yet: bidding can only be ended with bids."))
    return None


def _may_cancel(actor, task, now):
    if refused := _as_member(actor, task):
        return refused
    if task.status not in (TaskStatus.OPEN, TaskStatus.CLOSED):
        return _not_now(task)  # an awarded task ends with its contract
    return None


def _may_change_files(message):
    def rule(actor, task, now):
        if refused := _as_member(actor, task):
            return refused
        if task.status not in (TaskStatus.DRAFT, TaskStatus.OPEN):
            return DomainError(message)
        return None

    return rule


def _may_compare_bids(actor, task, now):
    if refused := _as_member(actor, task):
        return refused
    if task.status == TaskStatus.DRAFT:
        return _not_now(task)
    return None


def _may_answer(actor, task, now):
    return _as_member(actor, task)


def _as_outsider(actor, task):
    """Refusals common to a solver's actions: not logged in, not allowed to see the task."""
    if not _authenticated(actor):
        return NotAllowed()
    if not access.can_view(actor, task):
        return NotFound()
    return None


def _may_accept_nda(actor, task, now):
    if refused := _as_outsider(actor, task):
        return refused
    if access.can_view_full(actor, task):
        return Conflict(_l("You accepted the confidentiality terms of this task."))
    return None


def _may_ask(actor, task, now):
    if refused := _as_outsider(actor, task):
        return refused
    if access.is_member(actor, task):
        return NotAllowed(_l("Your organization posted this task: answer questions instead."))
    if not access.can_view_full(actor, task):
        return DomainError(_l("Accept the task's confidentiality terms before asking."))
    if task.status != TaskStatus.OPEN:
        return DomainError(_l("Questions can be asked while the task is open for bids."))
    return None


def _may_bid(actor, task, now):
    if refused := _as_outsider(actor, task) or authz.unverified_refusal(actor):
        return refused
    if not task.accepts_bids(now):
        return DomainError(_l("This task does not accept bids any more."), field="price")
    if not access.can_view_full(actor, task):
        return DomainError(_l("Accept the task's confidentiality terms before bidding."))
    if access.is_member(actor, task):
        return NotAllowed(_l("You cannot bid on a task of your own organization."), field="price")
    return None


#: each action a user may take on a task, and its rule: (actor, task, now) → the DomainError
#: refusing it, or None when it is allowed
RULES = {
    "edit": _may_edit,
    "publish": _may_publish,
    "close": _may_close,
    "cancel": _may_cancel,
    "attach": _may_change_files(_l("Files can be attached to drafts and open tasks only.")),
    "remove_attachment": _may_change_files(
        _l("Files can be removed from drafts and open tasks only.")
    ),
    "compare_bids": _may_compare_bids,
    "answer": _may_answer,
    "accept_nda": _may_accept_nda,
    "ask": _may_ask,
    "bid": _may_bid,
}


def refusal(action, actor, task, now=None):
    """Why ``actor`` may not take ``action`` on the task now (the DomainError to raise), or
    None when they may."""
    return RULES[action](actor, task, now or utcnow())


def require(action, actor, task, now=None):
    """Raise the refusal of ``action`` (NotFound, NotAllowed, IllegalTransition, DomainError),
    if any. Lock the task first when the rule reads state you are about to change."""
    refused = refusal(action, actor, task, now)
    if refused is not None:
        raise refused


def allowed_actions(actor, task, now=None):
    """The names of the actions (keys of :data:`RULES`) ``actor`` may take on the task now."""
    now = now or utcnow()
    return frozenset(action for action, rule in RULES.items() if rule(actor, task, now) is None)


def bidding_open(task, now=None):
    """Whether the task takes bids now (a fact shown to everyone, logged in or not)."""
    return task.accepts_bids(now or utcnow())


def _check(details, now):
    if details.budget_min_fen > details.budget_max_fen:
        raise DomainError(_l("The minimum budget is above the maximum."), field="budget_min")
    if details.bid_deadline <= now:
        raise DomainError(_l("The bid deadline must be in the future."), field="bid_deadline")
    # The form checks the dates in the user's time zone; here a day's leeway covers any zone.
    if details.delivery_date < (details.bid_deadline - dt.timedelta(days=1)).date():
        raise DomainError(
            _l("The expected delivery date must come after the bid deadline."),
            field="delivery_date",
        )
    if db.session.get(Center, details.center_id) is None:
        raise DomainError(_l("Choose an innovation center."), field="center_id")
    if details.visibility == Visibility.INVITE_ONLY and not (
        details.invited_users or details.invited_organizations
    ):
        raise DomainError(
            _l("Invite at least one solver or agency to an invite-only task."),
            field="invite_emails",
        )


def _index(task):
    """Rebuild the task's tags and search terms (after its text or tags changed)."""
    db.session.execute(sa.delete(TaskTag).where(TaskTag.task_id == task.id))
    db.session.execute(sa.delete(TaskSearchTerm).where(TaskSearchTerm.task_id == task.id))
    tags = {tag.strip().lower()[:40] for tag in [*task.fields, *task.skills] if tag.strip()}
    db.session.add_all(TaskTag(task_id=task.id, tag=tag) for tag in sorted(tags))
    terms = search.terms_of(task.title, task.summary, task.description, *task.fields, *task.skills)
    db.session.add_all(TaskSearchTerm(task_id=task.id, term=term) for term in sorted(terms))


def _set_invitations(task, details):
    db.session.execute(sa.delete(TaskInvitation).where(TaskInvitation.task_id == task.id))
    if task.visibility != Visibility.INVITE_ONLY:
        return
    for user in {user.id: user for user in details.invited_users}.values():
        db.session.add(TaskInvitation(task_id=task.id, user_id=user.id))
    for organization in {o.id: o for o in details.invited_organizations}.values():
        db.session.add(TaskInvitation(task_id=task.id, organization_id=organization.id))


def create_task(actor, organization, details, now=None):
    """Post a draft task for ``organization`` (an enterprise the actor acts for).

    Raises NotAllowed for non-members or non-enterprises, DomainError for bad details.
    """
    if organization.kind != OrgKind.ENTERPRISE:
        raise NotAllowed(_l("Only enterprises post tasks."))
    authz.require_member(actor, organization)
    _check(details, now or utcnow())
    values = dataclasses.asdict(details)
    values.pop("invited_users"), values.pop("invited_organizations")
    task = Task(organization=organization, created_by=actor, status=TaskStatus.DRAFT, **values)
    db.session.add(task)
    db.session.flush()
    _set_invitations(task, details)
    _index(task)
    db.session.flush()
    return task


def _shown(field, value):
    """A field's value as the change history shows it."""
    if field.endswith("_fen"):
        return format_money(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


def require_editable(actor, task, now):
    """Raise unless the actor may edit the task: a member, and the task a draft, or open with
    its deadline still ahead (see the "edit" rule)."""
    require("edit", actor, task, now)


def update_task(actor, task, details, now=None):
    """Change a draft freely, or an open task's editable fields with a recorded revision.

    Raises NotAllowed for non-members, IllegalTransition once bidding ended, DomainError for
    bad details or a change to terms fixed at publication.
    """
    access.require_member(actor, task)
    task = lock(task)
    now = now or utcnow()
    require_editable(actor, task, now)
    _check(details, now)
    values = dataclasses.asdict(details)
    values.pop("invited_users"), values.pop("invited_organizations")
    changes = {}
    for field, new in values.items():
        old = getattr(task, field)
        if old == new or (field == "bid_deadline" and abs(old - new) < dt.timedelta(minutes=1)):
            continue  # forms show deadlines to the minute
        if task.status == TaskStatus.OPEN and field not in EDITABLE_WHEN_OPEN:
            raise DomainError(
                _l("Once published, only the description, tags, budget and dates can change.")
            )
        changes[field] = [_shown(field, old), _shown(field, new)]
        setattr(task, field, new)
    if task.status == TaskStatus.DRAFT:
        _set_invitations(task, details)
    if changes and task.status == TaskStatus.OPEN:
        db.session.add(TaskRevision(task_id=task.id, editor_id=actor.id, changes=changes))
    _index(task)
    db.session.flush()
    return task


def lock(task):
    """The task row, locked for the rest of the transaction (state changes serialise on it)."""
    return relock(task)


def publish_task(actor, task, now=None):
    """Open a draft for bids; raises DomainError if its deadline has already passed."""
    access.require_member(actor, task)
    task = lock(task)
    now = now or utcnow()
    require("publish", actor, task, now)
    transition(task, TaskStatus.OPEN, TASK_MOVES, actor=actor)
    task.published_at = now
    db.session.flush()
    return task


def _live_bids(task):
    query = sa.select(Bid).where(Bid.task_id == task.id, Bid.status.in_(LIVE_STATES))
    return list(db.session.scalars(query.order_by(Bid.id)))


def _link(task):
    return f"/tasks/{task.id}"


def end_bidding(task, now, actor):
    """Close bidding (there are live bids) or let the task expire (none); tell the people
    concerned. The task must be locked and open; ``actor`` is who ends it (the enterprise's
    member, or lifecycle.SYSTEM at the deadline)."""
    bids = _live_bids(task)
    target = TaskStatus.CLOSED if bids else TaskStatus.EXPIRED
    transition(task, target, TASK_MOVES, actor=actor)
    task.ended_at = now
    if target == TaskStatus.CLOSED:
        people = task.organization.members + [p for bid in bids for p in bid.bidder_side]
        notify(people, Kind.BIDDING_CLOSED, _link(task), task, task=task.title)
    else:
        notify(task.organization.members, Kind.TASK_EXPIRED, _link(task), task, task=task.title)
    db.session.flush()
    return target


def close_bidding(actor, task, now=None):
    """The enterprise ends bidding before the deadline; there must be at least one live bid."""
    access.require_member(actor, task)
    task = lock(task)
    now = now or utcnow()
    require("close", actor, task, now)
    return end_bidding(task, now, actor)


def cancel_task(actor, task, reason, now=None):
    """Cancel an open or closed task with a reason; live bids end and their bidders are told."""
    access.require_member(actor, task)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Give the bidders a reason for the cancellation."), field="reason")
    task = lock(task)
    require("cancel", actor, task, now)
    transition(task, TaskStatus.CANCELLED, TASK_MOVES, actor=actor, reason=reason)
    task.cancel_reason = reason
    task.ended_at = now or utcnow()
    bids = _live_bids(task)
    for bid in bids:
        transition(bid, BidStatus.REJECTED, BID_MOVES, actor=actor, reason=reason)
        bid.rejection_reason = reason
    offered = _withdraw_open_offer(task, actor, reason, now or utcnow())
    if offered is not None:
        bids.append(offered)
    bidders = [person for bid in bids for person in bid.bidder_side]
    notify(bidders, Kind.TASK_CANCELLED, _link(task), task, task=task.title, reason=reason)
    db.session.flush()
    return task


def _withdraw_open_offer(task, actor, reason, now):
    """The task is cancelled under its open offer: the offer is withdrawn and its bid turned
    down. Returns the bid, or None when no offer is open."""
    offer = db.session.scalar(
        sa.select(Offer).where(Offer.task_id == task.id, Offer.status == OfferStatus.OPEN)
    )
    if offer is None:
        return None
    offer = relock(offer)
    transition(offer, OfferStatus.WITHDRAWN, OFFER_MOVES, actor=actor, reason=reason)
    offer.decided_by_id, offer.decided_at, offer.reason = actor.id, now, reason
    bid = relock(offer.bid)
    transition(bid, BidStatus.REJECTED, BID_MOVES, actor=actor, reason=reason)
    bid.rejection_reason = reason
    return bid


def accept_nda(actor, task, now=None):
    """Record that the actor accepts the task's confidentiality terms (once: accepting again,
    or terms the actor need not accept, changes nothing)."""
    access.require_view(actor, task)
    if refusal("accept_nda", actor, task, now) is None:
        db.session.add(
            NdaAcceptance(task_id=task.id, user_id=actor.id, accepted_at=now or utcnow())
        )
        db.session.flush()


def sweep_due(now=None):
    """End bidding on every open task whose deadline has passed; returns how many.

    Safe to run from several processes at once: each task is locked and its state checked.
    """
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(Task.id).where(Task.status == TaskStatus.OPEN, Task.bid_deadline <= now)
    ).all()
    ended = 0
    for task_id in due:
        task = db_lock(Task, task_id, skip_locked=True)
        if task is not None and task.status == TaskStatus.OPEN and task.bid_deadline <= now:
            end_bidding(task, now, SYSTEM)
            ended += 1
    return ended


def enterprises_of(user):
    """The enterprises the user may post tasks for."""
    ids = authz.organization_ids_of(user)
    if not ids:
        return []
    query = sa.select(Organization).where(
        Organization.id.in_(ids), Organization.kind == OrgKind.ENTERPRISE
    )
    return list(db.session.scalars(query.order_by(Organization.name)))
