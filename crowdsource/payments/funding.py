"""Funding a milestone: the enterprise starts it (and is shown how to pay), the provider's
confirmation credits escrow. For bank transfers a manager of the contract's center records the
transfer received."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from crowdsource import audit
from crowdsource.accounts import authz
from crowdsource.contracts.models import Contract, ContractStatus, Milestone, MilestoneStatus, Side
from crowdsource.contracts.sides import side_of
from crowdsource.db import db, relock, utcnow
from crowdsource.errors import AlreadyDone, Conflict, DomainError, NotAllowed
from crowdsource.lifecycle import transition
from crowdsource.payments import escrow, providers
from crowdsource.payments.models import FUNDING_MOVES, Funding, FundingStatus


def open_funding(milestone):
    """The milestone's funding waiting for payment, or None."""
    return db.session.scalar(
        sa.select(Funding).filter_by(milestone_id=milestone.id, status=FundingStatus.PENDING)
    )


def funding_refusal(actor, milestone):
    """Why the actor may not start paying the milestone now (None: they may): only the
    enterprise pays, while the contract is active, each milestone once and in order — the
    first before work starts, each next one after."""
    contract = milestone.contract
    if side_of(actor, contract) != Side.CLIENT:
        return NotAllowed()
    if contract.status != ContractStatus.ACTIVE:
        return Conflict(_l("The contract is not active."))
    if milestone.status != MilestoneStatus.PENDING:
        return AlreadyDone(_l("This milestone is already funded."))
    earlier = [m for m in contract.milestones if m.position < milestone.position]
    if any(m.status == MilestoneStatus.PENDING for m in earlier):
        return Conflict(_l("Fund the milestones in order: an earlier one is not funded yet."))
    return None


def start_funding(actor, milestone, provider_name=None):
    """The enterprise starts paying a milestone into escrow through a provider (the default
    one unless named); returns the (new or open) funding. Choosing another provider than the
    open funding's cancels that one.

    Milestones are funded in order: the first before work starts, each next one after.
    Raises NotAllowed for anyone but the enterprise, Conflict when it cannot be funded now.
    """
    contract = milestone.contract
    if side_of(actor, contract) != Side.CLIENT:
        raise NotAllowed()
    milestone = escrow.lock_milestone(milestone.id)
    refusal = funding_refusal(actor, milestone)
    if refusal is not None:
        raise refusal
    provider = providers.get(provider_name) if provider_name else providers.current()
    existing = open_funding(milestone)
    if existing is not None and existing.provider == provider.name:
        return existing
    if existing is not None:
        transition(
            existing,
            FundingStatus.CANCELLED,
            FUNDING_MOVES,
            actor=actor,
            reason=f"switched to {provider.name}",
        )
        db.session.flush()
    attempts = db.session.scalar(
        sa.select(sa.func.count(Funding.id)).filter_by(milestone_id=milestone.id)
    )
    funding = Funding(
        milestone_id=milestone.id,
        provider=provider.name,
        reference=provider.reference_for(milestone),
        amount_fen=milestone.due_fen,
        currency=contract.currency,
        created_by_id=actor.id,
        attempt=attempts + 1,
    )
    try:
        with db.session.begin_nested():
            db.session.add(funding)
    except IntegrityError:
        return open_funding(milestone)
    audit.record("funding", funding.id, "started", actor, to_state=funding.status)
    return funding


def confirm_bank_transfer(actor, funding, amount_fen, bank_reference, now=None):
    """A manager of the contract's center records the enterprise's transfer as received.

    The amount must equal what is due; otherwise nothing is posted (DomainError). A second
    confirmation of the same transfer gets AlreadyDone and posts nothing.
    """
    contract = funding.milestone.contract
    if not authz.manages_center_of(actor, contract):
        raise NotAllowed()
    bank_reference = (bank_reference or "").strip()
    if not bank_reference:
        raise DomainError(_l("Enter the bank's reference of the transfer."), field="bank_reference")
    milestone = escrow.lock_milestone(funding.milestone_id)
    relock(funding)
    if funding.status == FundingStatus.CONFIRMED:
        raise AlreadyDone(_l("This transfer has already been recorded."))
    if funding.status != FundingStatus.PENDING:
        raise Conflict(_l("This funding was cancelled."))
    if funding.provider != "manual":
        raise Conflict(_l("This funding is paid through %(provider)s.", provider=funding.provider))
    escrow.fund_milestone(
        milestone.id,
        amount_fen,
        "manual",
        actor=actor,
        now=now,
        note=f"bank transfer {bank_reference} ({funding.reference})",
    )
    transition(funding, FundingStatus.CONFIRMED, FUNDING_MOVES, actor=actor, reason=bank_reference)
    funding.confirmed_by_id = actor.id
    funding.confirmed_at = now or utcnow()
    funding.external_reference = bank_reference[:100]
    db.session.flush()
    return funding


def transfers_to_confirm(actor):
    """Pending bank-transfer fundings of contracts in the centers the actor manages, oldest
    first."""
    query = (
        sa.select(Funding)
        .join(Milestone, Milestone.id == Funding.milestone_id)
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(Funding.status == FundingStatus.PENDING, Funding.provider == "manual")
        .options(sa.orm.joinedload(Funding.milestone).joinedload(Milestone.contract))
        .order_by(Funding.created_at, Funding.id)
    )
    centers = authz.managed_center_ids(actor)
    if centers is not None:
        query = query.where(Contract.center_id.in_(centers))
    return list(db.session.scalars(query))
