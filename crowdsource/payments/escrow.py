"""Escrow of milestones: money only. Funding credits a milestone's escrow, a release pays it
out to the payee, the agency, the platform and the center, a refund returns it, a dispute
freezes it and a final ruling settles it; the automatic release after the review period.
When these happen is decided by the contracts workflow (:mod:`crowdsource.contracts.workflow`)
and by disputes, which call the functions here.

Every money operation is one database transaction (the caller's): it locks the milestone row
first, checks its state, writes the ledger entry (idempotency key from the business event,
e.g. ``release:milestone:42``), then moves the state. A second click, a retried job or a replayed
webhook finds the state moved or the key used and changes nothing. A ``disputed`` milestone
is frozen: no operation here moves its money.
"""

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crowdsource.contracts.models import (
    CONTRACT_MOVES,
    ESCROWED_STATES,
    MILESTONE_MOVES,
    Contract,
    ContractStatus,
    Milestone,
    MilestoneStatus,
    Side,
)
from crowdsource.contracts.sides import side_of
from crowdsource.contracts.sides import tell as _tell
from crowdsource.contracts.states import require_state as _require_state
from crowdsource.contracts.states import require_working as _require_working
from crowdsource.contracts.states import resume_contract as _resume_contract
from crowdsource.contracts.states import settle_contract as _settle_contract
from crowdsource.db import db, lock, lock_one, utcnow
from crowdsource.errors import Conflict, DomainError, NotAllowed
from crowdsource.lifecycle import SYSTEM, transition
from crowdsource.money import Fen, format_money
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import Amount
from crowdsource.payments import chart, commission, ledger, settlement
from crowdsource.payments.models import (
    FUNDING_MOVES,
    Funding,
    FundingStatus,
    JournalEntry,
    LedgerAccount,
)

# --- accounts (named by crowdsource.payments.chart; these open them) ----------------------


def escrow_account(milestone: Milestone) -> LedgerAccount:
    return ledger.account_named(chart.escrow(milestone.id))


def clearing_account(provider: str) -> LedgerAccount:
    return ledger.account_named(chart.clearing(provider))


def payable_account(contract: Contract, role: chart.PayableRole) -> LedgerAccount:
    return ledger.account_named(chart.payable(contract.id, role))


#: the codes of the platform's revenue accounts (as tests name them)
COMMISSION_REVENUE = chart.commission_revenue().code
CLIENT_FEE_REVENUE = chart.client_fee_revenue().code


# --- locking -----------------------------------------------------------------------------


def _lock_contract_of(milestone_id: int, skip_locked: bool = False) -> int | None:
    """Lock the row of the milestone's contract; returns its id (None: no such milestone, or,
    with ``skip_locked``, someone else holds it).

    Whatever locks a contract and one of its milestones takes the contract first — a release
    that completes the contract updates it, a cancellation locks it and then its milestones —
    so that two such operations never wait for each other's locks (a deadlock)."""
    return lock_one(
        sa.select(Contract.id)
        .join(Milestone, Milestone.contract_id == Contract.id)
        .where(Milestone.id == milestone_id),
        of=Contract,
        skip_locked=skip_locked,
    )


def lock_milestone(milestone_id: int) -> Milestone:
    """The milestone row, locked for the rest of the transaction (after its contract's row),
    as stored now."""
    if _lock_contract_of(milestone_id) is None:
        raise DomainError(_l("No such milestone."))
    milestone = lock(Milestone, milestone_id)
    if milestone is None:
        raise DomainError(_l("No such milestone."))
    return milestone


# --- operations --------------------------------------------------------------------------


def fund_milestone(
    milestone_id: int,
    amount_fen: Fen,
    provider: str,
    actor: Any = SYSTEM,
    now: dt.datetime | None = None,
    note: str = "",
) -> Milestone:
    """Credit escrow with the payment received for a milestone (a provider confirmed it).

    Raises AlreadyDone if it is funded already, DomainError if ``amount_fen`` is not exactly
    what is due (nothing is posted then).
    """
    now = now or utcnow()
    milestone = lock_milestone(milestone_id)
    contract = milestone.contract
    _require_state(
        milestone,
        (MilestoneStatus.PENDING,),
        (*ESCROWED_STATES, MilestoneStatus.RELEASED, MilestoneStatus.SPLIT),
        _l("This milestone is already funded."),
    )
    if contract.status != ContractStatus.ACTIVE:
        raise Conflict(_l("The contract is not active."))
    due = milestone.due_fen
    if amount_fen != due:
        raise DomainError(
            _l(
                "The amount received (%(received)s) is not the amount due (%(due)s). "
                "Nothing has been recorded.",
                received=format_money(amount_fen),
                due=format_money(due),
            ),
            field="amount",
        )
    ledger.post(
        f"fund:milestone:{milestone.id}",
        "fund",
        [
            ledger.Leg(clearing_account(provider), -due),
            ledger.Leg(escrow_account(milestone), due),
        ],
        description=note or f"{contract.number} M{milestone.position} funded",
        actor=actor,
        contract_id=contract.id,
        milestone_id=milestone.id,
    )
    transition(milestone, MilestoneStatus.FUNDED, MILESTONE_MOVES, actor=actor, reason=note)
    milestone.funded_at = now
    for side in (Side.SOLVER, Side.CLIENT):
        _tell(contract, side, Kind.MILESTONE_FUNDED, milestone, amount=Amount(due))
    db.session.flush()
    return milestone


def release_legs(milestone: Milestone) -> list[ledger.Leg]:
    """The postings of a milestone's release, by the contract's rates: escrow out; payee,
    agency, platform and center in (a ruling that releases everything, see
    crowdsource.payments.settlement). Zero parts are left out (no account is made for them)."""
    return ledger.legs_of(settlement.full_release(milestone).legs)


def release_milestone(milestone: Milestone, actor: Any, now: dt.datetime, description: str) -> None:
    """Release a delivered milestone's escrow (the caller locked it and checked that it may
    be released): to the payee, the agency (brokerage), the platform (commission, client fee)
    and the center (its share), by the contract's rates; the contract completes once every
    milestone is settled."""
    contract = milestone.contract
    ledger.post(
        f"release:milestone:{milestone.id}",
        "release",
        release_legs(milestone),
        description=description,
        actor=actor,
        contract_id=contract.id,
        milestone_id=milestone.id,
    )
    transition(
        milestone, MilestoneStatus.RELEASED, MILESTONE_MOVES, actor=actor, reason=description
    )
    milestone.settled_at = now
    milestone.review_due_at = None
    net = commission.split(Fen(milestone.amount_fen), contract.rates).payee
    _tell(contract, Side.SOLVER, Kind.MILESTONE_RELEASED, milestone, amount=Amount(net))
    _settle_contract(contract, actor, now)


def refund_to_provider(
    milestone: Milestone, provider: str, now: dt.datetime, reason: str, actor: Any = SYSTEM
) -> None:
    """The provider has returned a milestone's escrow to the payer (a card refund Stripe
    confirmed): escrow out to the provider's clearing account; the milestone is refunded.
    The milestone must be locked and still escrowed."""
    contract = milestone.contract
    due = milestone.due_fen
    ledger.post(
        f"refund:milestone:{milestone.id}",
        "refund",
        [
            ledger.Leg(escrow_account(milestone), -due),
            ledger.Leg(clearing_account(provider), due),
        ],
        description=reason[:300],
        actor=actor,
        contract_id=contract.id,
        milestone_id=milestone.id,
    )
    transition(milestone, MilestoneStatus.REFUNDED, MILESTONE_MOVES, actor=actor, reason=reason)
    milestone.settled_at = now
    milestone.review_due_at = None


def refund_milestone(milestone: Milestone, actor: Any, now: dt.datetime, reason: str) -> None:
    """Return a milestone's escrow to the enterprise (a payable to send back). The milestone
    must be locked and funded or delivered."""
    contract = milestone.contract
    due = milestone.due_fen
    ledger.post(
        f"refund:milestone:{milestone.id}",
        "refund",
        [
            ledger.Leg(escrow_account(milestone), -due),
            ledger.Leg(payable_account(contract, "client"), due),
        ],
        description=reason[:300],
        actor=actor,
        contract_id=contract.id,
        milestone_id=milestone.id,
    )
    transition(milestone, MilestoneStatus.REFUNDED, MILESTONE_MOVES, actor=actor, reason=reason)
    milestone.settled_at = now
    milestone.review_due_at = None


def lock_contract(contract_id: int) -> Contract | None:
    """The contract's row, locked for the rest of the transaction (before any of its
    milestones: see :func:`_lock_contract_of`)."""
    return lock(Contract, contract_id)


def cancel_open_fundings(contract: Contract, actor: Any) -> None:
    """The contract ended: fundings still waiting for a payment are cancelled."""
    ids = [milestone.id for milestone in contract.milestones]
    for funding in db.session.scalars(
        sa.select(Funding).where(
            Funding.milestone_id.in_(ids), Funding.status == FundingStatus.PENDING
        )
    ):
        transition(
            funding,
            FundingStatus.CANCELLED,
            FUNDING_MOVES,
            actor=actor,
            reason="contract cancelled",
        )


def sweep_due(now: dt.datetime | None = None) -> int:
    """Release every delivered milestone whose review period ended; returns how many.

    Safe to run from several processes at once and next to a manual acceptance: each
    milestone is locked and its state checked, and the release key is the same.
    """
    now = now or utcnow()
    due_ids = db.session.scalars(
        sa.select(Milestone.id).where(
            Milestone.status == MilestoneStatus.SUBMITTED, Milestone.review_due_at <= now
        )
    ).all()
    released = 0
    for milestone_id in due_ids:
        if _lock_contract_of(milestone_id, skip_locked=True) is None:
            continue  # someone is acting on the contract: the next sweep finds it again
        milestone = lock(Milestone, milestone_id, skip_locked=True)
        if (
            milestone is None
            or milestone.status != MilestoneStatus.SUBMITTED
            or milestone.review_due_at is None
            or milestone.review_due_at > now
        ):
            continue
        contract = milestone.contract
        release_milestone(
            milestone,
            SYSTEM,
            now,
            f"{contract.number} M{milestone.position} released "
            "automatically after the review period",
        )
        _tell(
            contract,
            Side.CLIENT,
            Kind.MILESTONE_RELEASED,
            milestone,
            amount=Amount(milestone.amount_fen),
        )
        released += 1
    db.session.flush()
    return released


def remind_reviews(
    now: dt.datetime | None = None, ahead: dt.timedelta = dt.timedelta(days=2)
) -> int:
    """Remind the enterprise, once per delivery, that a delivered milestone will be released
    automatically in less than ``ahead``; returns how many were reminded.

    Safe to run from several processes at once: each milestone is locked (skipped if another
    transaction holds it, after its contract as everywhere) and its reminder re-checked."""
    now = now or utcnow()
    due = (
        Milestone.status == MilestoneStatus.SUBMITTED,
        Milestone.review_due_at <= now + ahead,
        Milestone.review_due_at > now,
        Milestone.review_reminded_at.is_(None),
    )
    milestones = []
    for milestone_id in db.session.scalars(sa.select(Milestone.id).where(*due)).all():
        if _lock_contract_of(milestone_id, skip_locked=True) is None:
            continue  # someone is acting on the contract: the next sweep finds it again
        milestone = lock_one(
            sa.select(Milestone).where(Milestone.id == milestone_id, *due), skip_locked=True
        )
        if milestone is None:
            continue  # reminded (or released) by another sweep meanwhile
        milestones.append(milestone)
        milestone.review_reminded_at = now
        _tell(
            milestone.contract,
            Side.CLIENT,
            Kind.REVIEW_ENDING,
            milestone,
            date=milestone.review_due_at,
        )
    db.session.flush()
    return len(milestones)


# --- disputes ----------------------------------------------------------------------------


def freeze_for_dispute(
    actor: Any, milestone_id: int, reason: str, now: dt.datetime | None = None
) -> tuple[Milestone, Side]:
    """A party disputes a funded or delivered milestone: its escrow is frozen at once (the
    milestone becomes disputed, the contract in dispute). Returns the locked milestone and
    the actor's side. Nothing here moves money."""
    milestone = lock_milestone(milestone_id)
    contract = milestone.contract
    side = side_of(actor, contract)
    if side is None:
        raise NotAllowed()
    _require_state(
        milestone,
        (MilestoneStatus.FUNDED, MilestoneStatus.SUBMITTED),
        (MilestoneStatus.DISPUTED,),
        _l("This milestone is already in dispute."),
    )
    _require_working(contract)
    transition(milestone, MilestoneStatus.DISPUTED, MILESTONE_MOVES, actor=actor, reason=reason)
    milestone.review_due_at = None
    if contract.status == ContractStatus.ACTIVE:
        transition(contract, ContractStatus.IN_DISPUTE, CONTRACT_MOVES, actor=actor, reason=reason)
    db.session.flush()
    return milestone, side


def ruling_parts(milestone: Milestone, release_fen: Fen) -> tuple[Fen, commission.Split, Fen]:
    """How a ruling that releases ``release_fen`` of the milestone's escrow (the rest goes back
    to the enterprise) is booked: the released part carries its share of the client-side fee,
    and the contract's commission, brokerage and center share apply to the rest of it only.
    Returns (client-fee part, commission.Split of the released gross, refund)."""
    settled = settlement.settle(milestone, release_fen)
    return settled.client_fee, settled.split, settled.refund


def settle_ruling(
    milestone: Milestone, release_fen: Fen, actor: Any, now: dt.datetime, description: str
) -> commission.Split:
    """Move a disputed milestone's escrow as a final ruling says: ``release_fen`` to the payee
    (less fees, by the contract's rates), the rest to the enterprise. One entry, posted once
    (key ``ruling:milestone:<id>``). The milestone must be locked and disputed."""
    contract = milestone.contract
    settled = settlement.settle(milestone, release_fen)
    parts, refund = settled.split, settled.refund
    ledger.post(
        f"ruling:milestone:{milestone.id}",
        "ruling",
        ledger.legs_of(settled.legs),
        description=description[:300],
        actor=actor,
        contract_id=contract.id,
        milestone_id=milestone.id,
    )
    if refund == 0:
        target = MilestoneStatus.RELEASED
    elif release_fen == 0:
        target = MilestoneStatus.REFUNDED
    else:
        target = MilestoneStatus.SPLIT
    transition(milestone, target, MILESTONE_MOVES, actor=actor, reason=description)
    milestone.settled_at = now
    if parts.payee:
        _tell(
            contract,
            Side.SOLVER,
            Kind.MILESTONE_RELEASED,
            milestone,
            amount=Amount(parts.payee),
        )
    _resume_contract(contract, actor, now)
    db.session.flush()
    return parts


# --- the escrow check --------------------------------------------------------------------


#: the kinds of the entries a milestone in each state has (sorted; any one of the lists);
#: a state not named here (funded, delivered, disputed) has its funding only
ENTRIES_BY_STATE: dict[MilestoneStatus, list[list[str]]] = {
    MilestoneStatus.PENDING: [[]],
    MilestoneStatus.CANCELLED: [[]],
    MilestoneStatus.RELEASED: [["fund", "release"], ["fund", "ruling"]],
    MilestoneStatus.REFUNDED: [["fund", "refund"], ["fund", "ruling"]],
    MilestoneStatus.SPLIT: [["fund", "ruling"]],
}


def check() -> list[str]:
    """Violations of escrow's invariants: each milestone's escrow equals what was funded less
    what was released and refunded, i.e. what is due while funded, delivered or disputed and
    nothing otherwise; every settled milestone has exactly its entries."""
    problems = []
    balances = dict(
        db.session.execute(
            sa.select(LedgerAccount.code, LedgerAccount.balance).where(
                chart.of_family(chart.Family.MILESTONE_ESCROW)
            )
        ).all()
    )
    kinds: dict[int | None, list[str]] = {}
    for milestone_id, kind in db.session.execute(
        sa.select(JournalEntry.milestone_id, JournalEntry.kind).where(
            JournalEntry.milestone_id.is_not(None)
        )
    ):
        kinds.setdefault(milestone_id, []).append(kind)
    milestones = db.session.scalars(
        sa.select(Milestone)
        .options(sa.orm.joinedload(Milestone.contract))
        .execution_options(populate_existing=True)  # as stored, not as this session saw it
    )
    for milestone in milestones:
        held = balances.pop(chart.escrow(milestone.id).code, 0)
        expected = milestone.due_fen if milestone.status in ESCROWED_STATES else 0
        if held != expected:
            problems.append(
                f"milestone {milestone.id} is {milestone.status} with {held} in escrow, "
                f"expected {expected}"
            )
        entries = sorted(kinds.get(milestone.id, []))
        wanted = ENTRIES_BY_STATE.get(milestone.status, [["fund"]])
        if entries not in wanted:
            problems.append(
                f"milestone {milestone.id} is {milestone.status} with entries {entries}"
            )
    problems += [f"escrow account {code} belongs to no milestone" for code in balances]
    return problems
