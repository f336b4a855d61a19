"""Disputes: opening one (the escrow freezes at once), the response, arbitration by a manager of
the task's center, the ruling, waiving or appealing it, the appeal to the parent center, and the
final ruling that moves the money — once, through :mod:`crowdsource.payments.escrow`.

Who may take which step of a case is written once, in :data:`RULES`: each step raises the
refusal its rule gives, and the case page shows exactly the steps :func:`allowed_actions`
returns.

Every step locks the dispute's row (after the contract's and the milestone's, in that order,
when money may move) and checks the state, so two managers ruling at once, or a ruling racing
the appeal window's end, make one decision.
"""

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm
from sqlalchemy.exc import IntegrityError

from crowdsource import audit
from crowdsource.accounts import authz
from crowdsource.accounts.centers import managers_of
from crowdsource.contracts import sides as contract_sides
from crowdsource.contracts.models import Contract, MilestoneStatus, Side
from crowdsource.contracts.states import state_refusal, working_refusal
from crowdsource.db import db, lock, lock_one, utcnow
from crowdsource.disputes.models import (
    DISPUTE_MOVES,
    Dispute,
    DisputeEntry,
    DisputeStatus,
    EntryKind,
    Ruling,
    RulingStage,
)
from crowdsource.errors import Conflict, DomainError, NotAllowed, NotFound
from crowdsource.lifecycle import SYSTEM, transition
from crowdsource.money import format_money
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import Amount, notify
from crowdsource.payments import escrow

MAX_TEXT = 10_000


def _text(value, message, field):
    """The text typed into the form field ``field``, stripped; DomainError naming the field if
    it is empty or too long."""
    value = (value or "").strip()
    if not value:
        raise DomainError(message, field=field)
    if len(value) > MAX_TEXT:
        raise DomainError(_l("Keep it under %(count)d characters.", count=MAX_TEXT), field=field)
    return value


def _days(name):
    return dt.timedelta(days=current_app.config[name])


# --- who may do what ---------------------------------------------------------------------


def side_of(user, dispute):
    return contract_sides.side_of(user, dispute.contract) if user.is_authenticated else None


def _is_party_member(user, dispute, organization_ids=None):
    """Whether the user belongs to either party (the enterprise, the agency, the payee
    organization) or is the solver or payee: such a manager cannot hear the case.
    ``organization_ids`` (the user's) saves the query when asking about many cases."""
    contract = dispute.contract
    if user.id in (contract.solver_id, contract.payee_user_id):
        return True
    if organization_ids is None:
        organization_ids = authz.organization_ids_of(user)
    parties = {contract.client_organization_id, contract.agency_id, contract.payee_organization_id}
    return bool(organization_ids & parties)


def hearing_center(dispute):
    """The center whose managers decide now: the appeal's center once appealed."""
    return dispute.hearing_center


def may_hear(user, dispute):
    """A manager of the hearing center (or above), not of either party; on appeal, not the
    manager who made the first ruling."""
    if not authz.manages_center(user, hearing_center(dispute)):
        return False
    if _is_party_member(user, dispute):
        return False
    return not (dispute.status == DisputeStatus.APPEALED and dispute.manager_id == user.id)


def can_view(user, dispute):
    """The parties, and the managers of the case's center (or above) and of the appeal's."""
    if not getattr(user, "is_authenticated", False):
        return False
    if side_of(user, dispute) is not None:
        return True
    return authz.manages_center(user, dispute.center) or (
        dispute.appeal_center is not None and authz.manages_center(user, dispute.appeal_center)
    )


def get_visible(user, dispute_id):
    dispute = db.session.get(Dispute, dispute_id)
    if dispute is None or not can_view(user, dispute):
        raise NotFound()
    return dispute


def of_milestone(milestone_id):
    return db.session.scalar(sa.select(Dispute).filter_by(milestone_id=milestone_id))


def _hearing_refusal(actor, dispute):
    """NotAllowed unless the actor is the manager hearing the case now (who took it, or its
    appeal) and still may hear it."""
    hearing = (
        dispute.appeal_manager_id
        if dispute.status == DisputeStatus.APPEALED
        else dispute.manager_id
    )
    if hearing is None or hearing != actor.id or not may_hear(actor, dispute):
        return NotAllowed(_l("Only the manager who took the case can do this."))
    return None


def _may_respond(actor, dispute, now):
    if side_of(actor, dispute) != dispute.respondent_side:
        return NotAllowed(_l("Only the other party responds to a dispute."))
    if dispute.status != DisputeStatus.OPEN:
        return Conflict(_l("The dispute has been answered already."))
    return None


def _may_post(actor, dispute, now):
    if dispute.status == DisputeStatus.FINAL:
        return Conflict(_l("The case is closed."))
    side = side_of(actor, dispute)
    if side is None and getattr(actor, "id", None) not in (
        dispute.manager_id,
        dispute.appeal_manager_id,
    ):
        return NotAllowed()
    if side is not None and side == dispute.respondent_side and dispute.awaits_response:
        return Conflict(_l("Answer the dispute with your response first."))
    return None


def _may_waive(actor, dispute, now):
    side = side_of(actor, dispute)
    if side is None:
        return NotAllowed()
    if dispute.status != DisputeStatus.RULED:
        return Conflict(_l("There is no ruling open to appeal."))
    waived = dispute.client_waived_at if side == Side.CLIENT else dispute.solver_waived_at
    if waived is not None:
        return Conflict(_l("You have already accepted the ruling."))
    return None


def _may_appeal(actor, dispute, now):
    if side_of(actor, dispute) is None:
        return NotAllowed()
    if dispute.status != DisputeStatus.RULED:
        return Conflict(_l("There is no ruling open to appeal."))
    if now > dispute.appeal_due_at:
        return Conflict(_l("The appeal window has closed."))
    return None


def _may_take(actor, dispute, now):
    if not may_hear(actor, dispute):
        return NotAllowed(_l("You cannot take this case."))
    if dispute.status == DisputeStatus.APPEALED:
        taken = dispute.appeal_manager_id is not None
    elif dispute.status in (DisputeStatus.RESPONDED, DisputeStatus.UNDER_REVIEW):
        taken = dispute.manager_id is not None
    elif dispute.status == DisputeStatus.OPEN:
        return Conflict(_l("The other party still has time to respond."))
    else:
        return Conflict(_l("This case is not waiting for a manager."))
    return Conflict(_l("Another manager has taken this case.")) if taken else None


def _may_request_information(actor, dispute, now):
    if dispute.status not in (DisputeStatus.UNDER_REVIEW, DisputeStatus.APPEALED):
        return Conflict(_l("This case is not under review."))
    return _hearing_refusal(actor, dispute)


def _may_rule(actor, dispute, now):
    if refused := _hearing_refusal(actor, dispute):
        return refused
    if dispute.status != DisputeStatus.UNDER_REVIEW:
        return Conflict(_l("This case is not under review."))
    return None


def _may_rule_on_appeal(actor, dispute, now):
    if refused := _hearing_refusal(actor, dispute):
        return refused
    if dispute.status != DisputeStatus.APPEALED:
        return Conflict(_l("This case is not under appeal."))
    return None


#: each step of a case and its rule: (actor, dispute, now) → the DomainError refusing it, or
#: None when the actor may take it
RULES = {
    "respond": _may_respond,
    "post": _may_post,
    "waive": _may_waive,
    "appeal": _may_appeal,
    "take": _may_take,
    "ask": _may_request_information,
    "rule": _may_rule,
    "rule_on_appeal": _may_rule_on_appeal,
}


def refusal(action, actor, dispute, now=None):
    """Why ``actor`` may not take the step ``action`` of the case now, or None."""
    return RULES[action](actor, dispute, now or utcnow())


def _require(action, actor, dispute, now=None):
    refused = refusal(action, actor, dispute, now)
    if refused is not None:
        raise refused


def allowed_actions(actor, dispute, now=None):
    """The steps (keys of :data:`RULES`) ``actor`` may take on the case now."""
    now = now or utcnow()
    return frozenset(action for action, rule in RULES.items() if rule(actor, dispute, now) is None)


# --- locking and telling -----------------------------------------------------------------


def _lock(dispute_id):
    dispute = lock(Dispute, dispute_id)
    if dispute is None:
        raise NotFound()
    return dispute


def _lock_with_money(dispute_id):
    """Lock the contract, the milestone and then the dispute (the order escrow locks in)."""
    milestone_id = db.session.scalar(
        sa.select(Dispute.milestone_id).where(Dispute.id == dispute_id)
    )
    if milestone_id is None:
        raise NotFound()
    milestone = escrow.lock_milestone(milestone_id)
    return _lock(dispute_id), milestone


def _link(dispute):
    return f"/disputes/{dispute.id}"


def _params(dispute, **more):
    return {"number": dispute.contract.number, "milestone": dispute.milestone.title, **more}


def _managers(center):
    """The managers the case goes to: those of its center, else of the nearest center above
    that has managers (a county center may have none of its own)."""
    while center is not None:
        managers = [manager.user for manager in managers_of(center)]
        if managers:
            return managers
        center = center.parent
    return []


def _tell(dispute, kind, sides=(Side.CLIENT, Side.SOLVER), managers=True, **more):
    people = []
    for side in sides:
        people += contract_sides.people_of(dispute.contract, side)
    if managers:
        taken_by = dispute.hearing_manager
        if taken_by is not None:
            people.append(taken_by)
        else:
            people += _managers(hearing_center(dispute))
    notify(people, kind, _link(dispute), dispute.contract.task, **_params(dispute, **more))


def _entry(dispute, author, kind, body, addressed_to=None):
    entry = DisputeEntry(
        dispute_id=dispute.id, author_id=author.id, kind=kind, body=body, addressed_to=addressed_to
    )
    db.session.add(entry)
    db.session.flush()
    return entry


# --- the parties -------------------------------------------------------------------------


def opening_refusal(actor, milestone):
    """Why the actor may not open a dispute on the milestone now (None: they may): a party
    disputes a funded or delivered milestone of a contract in work — the checks
    escrow.freeze_for_dispute makes under the lock."""
    if contract_sides.side_of(actor, milestone.contract) is None:
        return NotAllowed()
    return state_refusal(
        milestone,
        (MilestoneStatus.FUNDED, MilestoneStatus.SUBMITTED),
        (MilestoneStatus.DISPUTED,),
        _l("This milestone is already in dispute."),
    ) or working_refusal(milestone.contract)


def open_dispute(actor, milestone_id, reason, now=None):
    """A party disputes a funded or delivered milestone with a reason (evidence files attach
    to the returned dispute's first entry). The escrow freezes at once; the other party has
    the response period to answer."""
    now = now or utcnow()
    reason = _text(reason, _l("Explain what the dispute is about."), "reason")
    milestone, side = escrow.freeze_for_dispute(actor, milestone_id, reason, now)
    contract = milestone.contract
    dispute = Dispute(
        milestone_id=milestone.id,
        contract_id=contract.id,
        center_id=contract.task.center_id,
        opened_by_id=actor.id,
        opened_by_side=side,
        reason=reason,
        amount_fen=milestone.due_fen,
        opened_at=now,
        respond_by=now + _days("DISPUTE_RESPONSE_DAYS"),
    )
    try:
        with db.session.begin_nested():
            db.session.add(dispute)
    except IntegrityError:
        raise Conflict(_l("This milestone is already in dispute.")) from None
    audit.record("dispute", dispute.id, "status", actor, to_state=dispute.status, reason=reason)
    _entry(dispute, actor, EntryKind.EVIDENCE, reason)
    _tell(dispute, Kind.DISPUTE_OPENED, reason=reason)
    return dispute


def respond(actor, dispute_id, body, now=None):
    """The other party answers; the case goes to the managers."""
    now = now or utcnow()
    body = _text(body, _l("Write your response."), "body")
    dispute = _lock(dispute_id)
    _require("respond", actor, dispute, now)
    transition(dispute, DisputeStatus.RESPONDED, DISPUTE_MOVES, actor=actor)
    dispute.responded_at = now
    entry = _entry(dispute, actor, EntryKind.RESPONSE, body)
    _tell(dispute, Kind.DISPUTE_RESPONDED)
    return entry


def post(actor, dispute_id, body):
    """A party adds information or evidence (answering a manager's request, or of its own
    accord), or the manager hearing the case writes to both parties, until the case is
    final."""
    body = _text(body, _l("Write a message."), "body")
    dispute = _lock(dispute_id)
    _require("post", actor, dispute)
    entry = _entry(dispute, actor, EntryKind.MESSAGE, body)
    _tell(dispute, Kind.DISPUTE_MESSAGE, author=actor.display_name)
    return entry


def waive_appeal(actor, dispute_id, now=None):
    """A party accepts the ruling; when both have, it is final at once and the money moves."""
    now = now or utcnow()
    dispute, milestone = _lock_with_money(dispute_id)
    _require("waive", actor, dispute, now)
    side = side_of(actor, dispute)
    field = "client_waived_at" if side == Side.CLIENT else "solver_waived_at"
    setattr(dispute, field, now)
    audit.record("dispute", dispute.id, "appeal_waived", actor, reason=str(side.label))
    if dispute.client_waived_at and dispute.solver_waived_at:
        _make_final(dispute, milestone, actor, now, _l("both parties accepted the ruling"))
    db.session.flush()
    return dispute


def appeal(actor, dispute_id, reason, now=None):
    """A party appeals the ruling within the appeal window: the case goes to the managers of
    the parent center (the same center's other managers, for a case at the top)."""
    now = now or utcnow()
    reason = _text(reason, _l("Explain why you appeal."), "reason")
    dispute = _lock(dispute_id)
    _require("appeal", actor, dispute, now)
    transition(dispute, DisputeStatus.APPEALED, DISPUTE_MOVES, actor=actor, reason=reason)
    dispute.appealed_by_id = actor.id
    dispute.appeal_reason = reason
    dispute.appealed_at = now
    dispute.appeal_center_id = dispute.center.parent_id or dispute.center_id
    db.session.flush()
    db.session.refresh(dispute, ["appeal_center"])
    _entry(dispute, actor, EntryKind.EVIDENCE, reason)
    _tell(dispute, Kind.DISPUTE_APPEALED, reason=reason)
    return dispute


# --- the managers ------------------------------------------------------------------------


def queue(user, now=None):
    """The cases waiting for the user as a manager (their centers' subtrees; appeals by the
    appeal's center), oldest first: (dispute, overdue) pairs. Cases the user may not hear
    (a party's member, or the first ruling's manager on appeal) are left out."""
    now = now or utcnow()
    centers = authz.managed_center_ids(user)
    waiting = [
        DisputeStatus.OPEN,
        DisputeStatus.RESPONDED,
        DisputeStatus.UNDER_REVIEW,
        DisputeStatus.RULED,
    ]
    condition = sa.or_(
        Dispute.status.in_(waiting)
        & (Dispute.center_id.in_(centers) if centers is not None else sa.true()),
        (Dispute.status == DisputeStatus.APPEALED)
        & (Dispute.appeal_center_id.in_(centers) if centers is not None else sa.true()),
    )
    cases = db.session.scalars(
        sa.select(Dispute)
        .where(condition)
        .options(
            orm.selectinload(Dispute.contract).selectinload(Contract.task),
            orm.selectinload(Dispute.milestone),
            orm.selectinload(Dispute.center),
            orm.selectinload(Dispute.appeal_center),
            orm.selectinload(Dispute.manager),
            orm.selectinload(Dispute.appeal_manager),
        )
        .order_by(Dispute.opened_at, Dispute.id)
    ).all()
    organization_ids = authz.organization_ids_of(user)
    return [
        (case, is_overdue(case, now))
        for case in cases
        if not _is_party_member(user, case, organization_ids)
        and not (case.status == DisputeStatus.APPEALED and case.manager_id == user.id)
    ]


def is_overdue(dispute, now=None):
    """A case is overdue when its response deadline passed with no response, or it has waited
    for a ruling longer than the review target since it reached the managers."""
    now = now or utcnow()
    if dispute.status == DisputeStatus.OPEN:
        return now > dispute.respond_by
    if dispute.status in (DisputeStatus.RESPONDED, DisputeStatus.UNDER_REVIEW):
        since = dispute.responded_at or dispute.respond_by
        return now > since + _days("DISPUTE_REVIEW_DAYS")
    if dispute.status == DisputeStatus.APPEALED:
        return now > dispute.appealed_at + _days("DISPUTE_REVIEW_DAYS")
    return False


def take(actor, dispute_id, now=None):
    """A manager takes the case (once the respondent answered or let the deadline pass), or,
    on appeal, the appeal."""
    now = now or utcnow()
    dispute = _lock(dispute_id)
    _require("take", actor, dispute, now)
    if dispute.status == DisputeStatus.APPEALED:
        dispute.appeal_manager_id = actor.id
    else:
        if dispute.status == DisputeStatus.RESPONDED:
            transition(dispute, DisputeStatus.UNDER_REVIEW, DISPUTE_MOVES, actor=actor)
        dispute.manager_id = actor.id
    dispute.taken_at = now
    audit.record("dispute", dispute.id, "taken", actor)
    db.session.flush()
    db.session.refresh(dispute, ["manager", "appeal_manager"])
    _tell(dispute, Kind.DISPUTE_TAKEN, managers=False, manager=actor.display_name)
    return dispute


def request_information(actor, dispute_id, side, body):
    """The manager hearing the case asks a party for more information."""
    body = _text(body, _l("Say what information you need."), "body")
    dispute = _lock(dispute_id)
    _require("ask", actor, dispute)
    side = Side(side)
    entry = _entry(dispute, actor, EntryKind.INFO_REQUEST, body, addressed_to=side)
    _tell(dispute, Kind.DISPUTE_INFO_REQUESTED, sides=(side,), managers=False, reason=body)
    return entry


def _amounts(dispute, release_fen, refund_fen):
    for field, value in (("release", release_fen), ("refund", refund_fen)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise DomainError(_l("Enter both amounts."), field=field)
        if value < 0:
            raise DomainError(_l("Amounts cannot be negative."), field=field)
    if release_fen + refund_fen != dispute.amount_fen:
        raise DomainError(
            _l(
                "The amounts must add up to the disputed escrow, %(amount)s.",
                amount=format_money(dispute.amount_fen),
            ),
            field="release",
        )


def rule(actor, dispute_id, release_fen, refund_fen, reason, now=None):
    """The manager who took the case rules how the disputed escrow is split. Nothing moves
    yet: the parties have the appeal window (or both accept the ruling)."""
    now = now or utcnow()
    reason = _text(reason, _l("Give the reasons for the ruling."), "reason")
    dispute = _lock(dispute_id)
    _require("rule", actor, dispute, now)
    _amounts(dispute, release_fen, refund_fen)
    _add_ruling(dispute, RulingStage.FIRST, actor, release_fen, refund_fen, reason, None)
    transition(dispute, DisputeStatus.RULED, DISPUTE_MOVES, actor=actor, reason=reason)
    dispute.appeal_due_at = now + _days("DISPUTE_APPEAL_DAYS")
    _tell(
        dispute,
        Kind.DISPUTE_RULED,
        managers=False,
        release=Amount(release_fen),
        refund=Amount(refund_fen),
        reason=reason,
    )
    return dispute


def rule_on_appeal(actor, dispute_id, uphold, reason, release_fen=None, refund_fen=None, now=None):
    """The appeal's manager upholds the ruling or replaces it; the case is final at once and
    the money moves."""
    now = now or utcnow()
    reason = _text(reason, _l("Give the reasons for the ruling."), "reason")
    dispute, milestone = _lock_with_money(dispute_id)
    _require("rule_on_appeal", actor, dispute, now)
    first = dispute.ruling
    if uphold:
        release_fen, refund_fen = first.release_fen, first.refund_fen
    _amounts(dispute, release_fen, refund_fen)
    _add_ruling(dispute, RulingStage.APPEAL, actor, release_fen, refund_fen, reason, bool(uphold))
    transition(dispute, DisputeStatus.RULED_ON_APPEAL, DISPUTE_MOVES, actor=actor, reason=reason)
    _tell(
        dispute,
        Kind.DISPUTE_RULED,
        managers=False,
        release=Amount(release_fen),
        refund=Amount(refund_fen),
        reason=reason,
    )
    _make_final(dispute, milestone, actor, now, _l("ruled on appeal"))
    return dispute


def _add_ruling(dispute, stage, actor, release_fen, refund_fen, reason, upheld):
    ruling = Ruling(
        dispute_id=dispute.id,
        stage=stage,
        manager_id=actor.id,
        release_fen=release_fen,
        refund_fen=refund_fen,
        reason=reason,
        upheld=upheld,
    )
    try:
        with db.session.begin_nested():
            db.session.add(ruling)
    except IntegrityError:
        raise Conflict(_l("This case has already been ruled.")) from None
    db.session.refresh(dispute, ["rulings"])
    return ruling


def _make_final(dispute, milestone, actor, now, why):
    """The ruling in force becomes final: the escrow moves as it says (once)."""
    ruling = dispute.ruling
    transition(dispute, DisputeStatus.FINAL, DISPUTE_MOVES, actor=actor, reason=str(why))
    dispute.final_at = now
    payee_share = ruling.release_fen * 2
    if payee_share < dispute.amount_fen:
        dispute.lost_by_side = Side.SOLVER
    elif payee_share > dispute.amount_fen:
        dispute.lost_by_side = Side.CLIENT
    contract = dispute.contract
    escrow.settle_ruling(
        milestone,
        ruling.release_fen,
        actor,
        now,
        f"{contract.number} M{milestone.position} dispute {dispute.id}: {ruling.stage.label}",
    )
    _tell(dispute, Kind.DISPUTE_FINAL)


# --- deadlines ---------------------------------------------------------------------------


def _lock_each_due(*due):
    """Each dispute meeting the conditions ``due``, locked one at a time with SKIP LOCKED and
    the conditions checked again under the lock: of several sweeps running at once, one
    takes each (a reminder is sent once)."""
    for dispute_id in db.session.scalars(sa.select(Dispute.id).where(*due)).all():
        dispute = lock_one(
            sa.select(Dispute).where(Dispute.id == dispute_id, *due), skip_locked=True
        )
        if dispute is not None:
            yield dispute


def sweep_due(now=None):
    """Deadlines of disputes: unanswered cases go to review; rulings whose appeal window passed
    become final (the money moves); reminders a day before the response deadline and the end
    of the appeal window. Returns counts."""
    now = now or utcnow()
    counts = {"to_review": 0, "final": 0, "reminders": 0}
    for dispute_id in db.session.scalars(
        sa.select(Dispute.id).where(Dispute.status == DisputeStatus.OPEN, Dispute.respond_by <= now)
    ).all():
        dispute = _lock(dispute_id)
        if dispute.status != DisputeStatus.OPEN or dispute.respond_by > now:
            continue
        transition(
            dispute,
            DisputeStatus.UNDER_REVIEW,
            DISPUTE_MOVES,
            reason="no response within the response period",
            actor=SYSTEM,
        )
        _tell(dispute, Kind.DISPUTE_TO_REVIEW)
        counts["to_review"] += 1
    for dispute_id in db.session.scalars(
        sa.select(Dispute.id).where(
            Dispute.status == DisputeStatus.RULED, Dispute.appeal_due_at <= now
        )
    ).all():
        dispute, milestone = _lock_with_money(dispute_id)
        if dispute.status != DisputeStatus.RULED or dispute.appeal_due_at > now:
            continue
        _make_final(dispute, milestone, SYSTEM, now, _l("the appeal window passed"))
        counts["final"] += 1
    soon = now + dt.timedelta(days=1)
    for dispute in _lock_each_due(
        Dispute.status == DisputeStatus.OPEN,
        Dispute.respond_by <= soon,
        Dispute.response_reminded_at.is_(None),
    ):
        dispute.response_reminded_at = now
        _tell(
            dispute,
            Kind.DISPUTE_DEADLINE,
            sides=(dispute.respondent_side,),
            managers=False,
            date=dispute.respond_by,
        )
        counts["reminders"] += 1
    for dispute in _lock_each_due(
        Dispute.status == DisputeStatus.RULED,
        Dispute.appeal_due_at <= soon,
        Dispute.appeal_reminded_at.is_(None),
    ):
        dispute.appeal_reminded_at = now
        _tell(
            dispute,
            Kind.DISPUTE_DEADLINE,
            managers=False,
            date=dispute.appeal_due_at,
        )
        counts["reminders"] += 1
    db.session.flush()
    return counts
