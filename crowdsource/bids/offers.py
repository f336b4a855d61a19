"""Awarding a bid is an offer: the enterprise signs the contract document and offers it to the
bid; the winning side (the solver, or a member of the bidding agency) signs it too within
OFFER_DAYS, and only then is the contract formed. Declined, expired or withdrawn, the
enterprise may offer another live bid.

States: a task whose bidding has ended (closed) holds at most one open offer; the offered bid
is ``offered`` meanwhile and the other live bids wait. Accepting forms the contract, accepts
the bid, turns the other live bids down and awards the task. Each function checks the
actor's right, locks the task before its offer and bid, and flushes; the caller commits.
"""

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from crowdsource.bids import services as bids
from crowdsource.bids.models import BID_MOVES, LIVE_STATES, Bid, BidStatus
from crowdsource.contracts import services as contracts
from crowdsource.contracts import signing
from crowdsource.contracts.models import OFFER_MOVES, Offer, OfferStatus, Side, Signature
from crowdsource.contracts.signing import Signer
from crowdsource.db import db, lock, lock_one, relock, utcnow
from crowdsource.errors import Conflict, DomainError, NotAllowed, NotFound
from crowdsource.lifecycle import SYSTEM, transition
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import Amount, notify
from crowdsource.payments import policy
from crowdsource.tasks import access
from crowdsource.tasks import services as tasks
from crowdsource.tasks.models import TASK_MOVES, Task, TaskStatus

#: how long before its end the winning side is reminded of an unanswered offer
REMIND_AHEAD = dt.timedelta(days=1)


def _link(offer):
    return f"/offers/{offer.id}"


def open_offer_of(task):
    """The task's open offer, or None."""
    return db.session.scalar(
        sa.select(Offer).where(Offer.task_id == task.id, Offer.status == OfferStatus.OPEN)
    )


def can_view(user, offer):
    """The bid's viewers: the enterprise, the bidder's side, the center's managers, the admin."""
    return bids.can_view(user, offer.bid)


def require_view(user, offer):
    if not can_view(user, offer):
        raise NotFound()


def may_sign(user, offer, now=None):
    """Whether ``user`` speaks for the winning side of the open, unexpired ``offer``."""
    now = now or utcnow()
    return (
        offer.status == OfferStatus.OPEN
        and now < offer.expires_at
        and bids.is_bidder(user, offer.bid)
    )


def may_withdraw(user, offer):
    return offer.status == OfferStatus.OPEN and access.is_member(user, offer.task)


def may_offer(user, bid, now=None):
    """Whether ``user`` may offer the contract to ``bid`` now: the enterprise's member, the bid
    live, the task open (bidding then ends) or closed, and no other offer open."""
    task = bid.task
    return (
        access.is_member(user, task)
        and bid.is_live
        and task.status in (TaskStatus.OPEN, TaskStatus.CLOSED)
        and open_offer_of(task) is None
    )


def _sign(offer, side, signer, now):
    signature = Signature(
        offer=offer,
        side=side,
        user_id=signer.user.id,
        signed_at=now,
        ip_address=signer.ip_address,
        user_agent=signer.user_agent,
        document_sha256=offer.document_sha256,
    )
    db.session.add(signature)
    return signature


def offer_bid(signer, bid, now=None):
    """The enterprise's member ``signer.user`` offers the contract to ``bid`` and signs it.

    Bidding still open ends now, in the same step (the enterprise confirmed that). Raises
    NotAllowed for someone not of the enterprise, DomainError when the task is no longer
    awarding or another offer is open, IllegalTransition when the bid is no longer live.
    """
    now = now or utcnow()
    actor = signer.user
    bids.require_view(actor, bid)
    if not access.is_member(actor, bid.task):
        raise NotAllowed()
    task = tasks.lock(bid.task)
    if task.status == TaskStatus.OPEN:
        tasks.end_bidding(task, now, actor if task.accepts_bids(now) else SYSTEM)
    if task.status != TaskStatus.CLOSED:
        raise DomainError(_l("This task is no longer open for an award."))
    if open_offer_of(task) is not None:
        raise Conflict(
            _l("Another bid has been offered the contract: wait for its answer or withdraw it.")
        )
    bid = relock(bid)
    transition(bid, BidStatus.OFFERED, BID_MOVES, actor=actor)
    rates = policy.in_force(task.center, task.contract_type)
    offer = Offer(
        task_id=task.id,
        bid_id=bid.id,
        offered_by_id=actor.id,
        created_at=now,
        expires_at=now + dt.timedelta(days=current_app.config["OFFER_DAYS"]),
        commission_bps=rates.commission_bps,
        client_fee_bps=rates.client_fee_bps,
        center_share_bps=rates.center_share_bps,
        document="",
        document_sha256="",
    )
    try:
        with db.session.begin_nested():
            db.session.add(offer)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_l("Another bid has been offered the contract meanwhile.")) from None
    offer.document = signing.document(
        signing.offered_terms(offer.id, task, bid, offer.rates)
    ).decode()
    offer.document_sha256 = signing.sha256(offer.document.encode())
    _sign(offer, Side.CLIENT, signer, now)
    notify(
        bid.bidder_side,
        Kind.OFFER_RECEIVED,
        _link(offer),
        task,
        task=task.title,
        amount=Amount(bid.price_fen),
        date=offer.expires_at,
    )
    db.session.flush()
    return offer


def _lock_offer(offer):
    """The offer's task, then the offer, locked and read again."""
    tasks.lock(offer.task)
    return relock(offer)


def accept_offer(signer, offer, now=None):
    """The winning side signs: the contract is formed (numbered, with the offer's rates), the
    bid accepted, every other live bid turned down and its bidder told, the task awarded.
    Returns the contract."""
    now = now or utcnow()
    actor = signer.user
    require_view(actor, offer)
    if not bids.is_bidder(actor, offer.bid):
        raise NotAllowed()
    offer = _lock_offer(offer)
    _require_open(offer, now)
    task, bid = offer.task, relock(offer.bid)
    transition(offer, OfferStatus.ACCEPTED, OFFER_MOVES, actor=actor)
    offer.decided_by_id, offer.decided_at = actor.id, now
    _sign(offer, Side.SOLVER, signer, now)
    transition(task, TaskStatus.AWARDED, TASK_MOVES, actor=actor)
    transition(bid, BidStatus.ACCEPTED, BID_MOVES, actor=actor)
    others = db.session.scalars(
        sa.select(Bid).where(Bid.task_id == task.id, Bid.id != bid.id, Bid.status.in_(LIVE_STATES))
    ).all()
    for other in others:
        transition(other, BidStatus.REJECTED, BID_MOVES, actor=actor, reason="another bid won")
        notify(
            other.bidder_side,
            Kind.BID_REJECTED,
            f"/bids/{other.id}",
            task,
            task=task.title,
            reason="",
        )
    contract = contracts.create_contract(task, bid, now, offer=offer)
    if signing.document(signing.contract_terms(contract)) != offer.document.encode():
        raise RuntimeError(f"contract of offer {offer.id} differs from the document signed")
    link = f"/contracts/{contract.id}"
    notify(bid.bidder_side, Kind.BID_AWARDED, link, task, task=task.title, number=contract.number)
    notify(
        task.organization.members,
        Kind.OFFER_ACCEPTED,
        link,
        task,
        task=task.title,
        number=contract.number,
        bidder=bid.bidder_name,
    )
    db.session.flush()
    return contract


def _require_open(offer, now):
    """Refuse an answer to an offer that is no longer open, or whose time is up (the sweep
    then lets it lapse)."""
    if offer.status != OfferStatus.OPEN:
        raise DomainError(
            _l("This offer is no longer open: it is %(status)s.", status=offer.status.label)
        )
    if now >= offer.expires_at:
        raise DomainError(_l("This offer expired unanswered."))


def decline_offer(actor, offer, reason, now=None):
    """The winning side declines, with a reason the enterprise is told."""
    now = now or utcnow()
    require_view(actor, offer)
    if not bids.is_bidder(actor, offer.bid):
        raise NotAllowed()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Tell the enterprise why you decline."), field="reason")
    offer = _lock_offer(offer)
    _require_open(offer, now)
    transition(offer, OfferStatus.DECLINED, OFFER_MOVES, actor=actor, reason=reason)
    offer.decided_by_id, offer.decided_at, offer.reason = actor.id, now, reason
    bid = relock(offer.bid)
    transition(bid, BidStatus.DECLINED, BID_MOVES, actor=actor, reason=reason)
    task = offer.task
    notify(
        task.organization.members,
        Kind.OFFER_DECLINED,
        _link(offer),
        task,
        task=task.title,
        bidder=bid.bidder_name,
        reason=reason,
    )
    db.session.flush()
    return offer


def withdraw_offer(actor, offer, reason, now=None):
    """The enterprise takes its open offer back (the bid returns to its shortlist), with a
    reason the bidder's side is told."""
    now = now or utcnow()
    require_view(actor, offer)
    if not access.is_member(actor, offer.task):
        raise NotAllowed()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Tell the bidder why you withdraw the offer."), field="reason")
    offer = _lock_offer(offer)
    _require_open(offer, now)
    transition(offer, OfferStatus.WITHDRAWN, OFFER_MOVES, actor=actor, reason=reason)
    offer.decided_by_id, offer.decided_at, offer.reason = actor.id, now, reason
    bid = relock(offer.bid)
    transition(bid, BidStatus.SHORTLISTED, BID_MOVES, actor=actor, reason=reason)
    notify(
        bid.bidder_side,
        Kind.OFFER_WITHDRAWN,
        _link(offer),
        offer.task,
        task=offer.task.title,
        reason=reason,
    )
    db.session.flush()
    return offer


def _lapse(offer, now):
    transition(offer, OfferStatus.EXPIRED, OFFER_MOVES, actor=SYSTEM)
    offer.decided_at = now
    bid = relock(offer.bid)
    transition(bid, BidStatus.LAPSED, BID_MOVES, actor=SYSTEM)
    task = offer.task
    people = task.organization.members + bid.bidder_side
    notify(people, Kind.OFFER_EXPIRED, _link(offer), task, task=task.title, bidder=bid.bidder_name)


def _due(offer_id, *conditions):
    return sa.select(Offer).where(
        Offer.id == offer_id, Offer.status == OfferStatus.OPEN, *conditions
    )


def sweep_due(now=None):
    """Let every open offer past its end lapse, and remind the winning side of those ending
    within a day (once each); returns ``{"offers_expired": n, "offer_reminders": m}``.

    Safe to run from several processes at once: each offer's task is locked (skipped if
    another transaction holds it) and the offer's state checked again under the lock."""
    now = now or utcnow()
    counts = {"offers_expired": 0, "offer_reminders": 0}
    ending = (Offer.expires_at <= now + REMIND_AHEAD, Offer.reminded_at.is_(None))
    candidates = db.session.execute(
        sa.select(Offer.id, Offer.task_id).where(
            Offer.status == OfferStatus.OPEN,
            sa.or_(Offer.expires_at <= now, sa.and_(*ending)),
        )
    ).all()
    for offer_id, task_id in candidates:
        if lock(Task, task_id, skip_locked=True) is None:
            continue  # someone acts on the task: the next sweep finds the offer again
        offer = lock_one(_due(offer_id), skip_locked=True)
        if offer is None:
            continue
        if offer.expires_at <= now:
            _lapse(offer, now)
            counts["offers_expired"] += 1
        elif offer.reminded_at is None:
            offer.reminded_at = now
            notify(
                offer.bid.bidder_side,
                Kind.OFFER_ENDING,
                _link(offer),
                offer.task,
                task=offer.task.title,
                date=offer.expires_at,
            )
            counts["offer_reminders"] += 1
    db.session.flush()
    return counts


def sign_both(member, bid, now=None, address="127.0.0.1"):
    """The offer to ``bid`` made by the enterprise's ``member`` and signed at once by its
    bidder, both from ``address``: the demo's awards (``flask seed-demo``). Returns the
    contract."""
    offer = offer_bid(Signer(member, address), bid, now)
    return accept_offer(Signer(bid.bidder, address), offer, now)
