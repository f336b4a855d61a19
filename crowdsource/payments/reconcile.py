"""Reconciliation of the ledger with the business events that move money.

``ledger.check()`` proves that the books add up and ``escrow.check()`` that each milestone's
escrow matches its state, but neither sees an entry written by hand that balances and leaves
escrow alone (money moved from clearing to a payable, a second payout). Here every entry is
matched with the event its idempotency key names, and every event with its entry:

- ``fund:milestone:<id>`` — the milestone's confirmed funding (a bank transfer a manager
  recorded, or a card payment a processed Stripe event credited), from that provider's
  clearing account into the milestone's escrow, of the funding's amount;
- ``release:milestone:<id>`` — a milestone released by acceptance or by the review period
  (not by a ruling), split as ``settlement.full_release`` splits it;
- ``refund:milestone:<id>`` — a milestone refunded by mutual cancellation (to the enterprise's
  payable) or by a succeeded card refund (to ``clearing:stripe``), of the milestone's due;
- ``ruling:milestone:<id>`` — a dispute whose ruling is final, split as ``settlement.settle``
  books the ruling in force;
- ``payout:<id>`` — a sent payout, from its payable to its provider's clearing account.

Any other key is reported, and so are an entry's kind, milestone and contract that disagree
with its key. The whole ledger is read in a fixed handful of queries, whatever its size.
"""

import dataclasses
import json
import re
from typing import TypeAlias

import sqlalchemy as sa

from crowdsource.contracts.models import Contract, ContractStatus, Milestone, MilestoneStatus
from crowdsource.db import db
from crowdsource.disputes.models import Dispute, DisputeStatus, Ruling, RulingStage
from crowdsource.errors import DomainError
from crowdsource.money import Fen
from crowdsource.payments import chart, commission, escrow, ledger, settlement
from crowdsource.payments.models import (
    CardRefund,
    CardRefundStatus,
    Funding,
    FundingStatus,
    JournalEntry,
    LedgerAccount,
    Payout,
    PayoutStatus,
    Posting,
    StripeEvent,
    StripeEventStatus,
)

#: an entry's postings: the signed amount on each account, by account code
Postings: TypeAlias = dict[str, Fen]

#: the keys that services post: "<kind>:milestone:<id>" or "payout:<id>"
KEY = re.compile(
    r"(?P<kind>fund|release|refund|ruling):milestone:(?P<milestone>\d+)|payout:(?P<payout>\d+)"
)
#: the Stripe events whose processing credits a card funding (crowdsource.payments.card)
PAYMENT_EVENTS = ("checkout.session.completed", "payment_intent.succeeded")


@dataclasses.dataclass(frozen=True)
class ContractView:
    """What reconciliation needs of a contract, read in bulk."""

    id: int
    status: ContractStatus
    center_id: int
    rates: commission.Rates


@dataclasses.dataclass(frozen=True)
class MilestoneView:
    """What reconciliation needs of a milestone; ``settlement.settle`` takes it as it takes a
    milestone."""

    id: int
    status: MilestoneStatus
    amount_fen: Fen
    contract: ContractView

    @property
    def due_fen(self) -> Fen:
        return commission.amount_due(self.amount_fen, self.contract.rates)


@dataclasses.dataclass(frozen=True)
class Expected:
    """The entry a business event calls for."""

    kind: str
    event: str
    postings: Postings
    contract_id: int | None
    milestone_id: int | None = None


@dataclasses.dataclass
class Books:
    """The ledger's entries and the business events, as stored now."""

    entries: list = dataclasses.field(default_factory=list)
    postings: dict = dataclasses.field(default_factory=dict)
    milestones: dict = dataclasses.field(default_factory=dict)
    fundings: dict = dataclasses.field(default_factory=dict)
    credited: set = dataclasses.field(default_factory=set)
    card_refunds: dict = dataclasses.field(default_factory=dict)
    payouts: dict = dataclasses.field(default_factory=dict)
    disputes: dict = dataclasses.field(default_factory=dict)
    rulings: dict = dataclasses.field(default_factory=dict)


def check() -> list[str]:
    """Every entry without its business event, every event without its entry, and every
    entry whose kind, milestone, contract or postings differ from the event's, as sentences
    (empty when the ledger and the events agree). Reads only."""
    books = _load()
    problems: list[str] = []
    expected = _expected_entries(books, problems)
    for entry in books.entries:
        want = expected.pop(entry.idempotency_key, None)
        if want is None:
            problems.append(
                f"entry {entry.id} ({entry.idempotency_key}) matches no business event: "
                f"{_why_unexpected(books, entry.idempotency_key)}"
            )
        else:
            problems += _differences(entry, books.postings.get(entry.id, {}), want)
    problems += [f"{want.event} has no entry {key}" for key, want in expected.items()]
    return problems


def _differences(entry, postings: Postings, want: Expected) -> list[str]:
    """How an entry differs from the one its event calls for."""
    name = f"entry {entry.id} ({entry.idempotency_key})"
    problems = []
    if entry.kind != want.kind:
        problems.append(f"{name} is of kind {entry.kind}, but its key is of a {want.kind}")
    if entry.milestone_id != want.milestone_id:
        problems.append(
            f"{name} names milestone {entry.milestone_id}, but {want.event} is of milestone "
            f"{want.milestone_id}"
        )
    if entry.contract_id != want.contract_id:
        problems.append(
            f"{name} names contract {entry.contract_id}, but {want.event} is of contract "
            f"{want.contract_id}"
        )
    if postings != want.postings:
        problems.append(
            f"{name} posts {_describe(postings)}, but {want.event} calls for "
            f"{_describe(want.postings)}"
        )
    return problems


# --- reading, in bulk ------------------------------------------------------------------------


def _load() -> Books:
    """Everything the reconciliation compares, in one query per table (two for the ledger)."""
    books = Books()
    books.entries = db.session.execute(
        sa.select(
            JournalEntry.id,
            JournalEntry.idempotency_key,
            JournalEntry.kind,
            JournalEntry.contract_id,
            JournalEntry.milestone_id,
        ).order_by(JournalEntry.id)
    ).all()
    for entry_id, code, amount in db.session.execute(
        sa.select(Posting.entry_id, LedgerAccount.code, Posting.amount).join(
            LedgerAccount, LedgerAccount.id == Posting.account_id
        )
    ):
        postings = books.postings.setdefault(entry_id, {})
        postings[code] = postings.get(code, 0) + amount
    books.milestones = _milestones()
    _load_fundings(books)
    _load_payouts_and_disputes(books)
    return books


def _load_fundings(books: Books) -> None:
    for funding in db.session.execute(
        sa.select(
            Funding.id,
            Funding.milestone_id,
            Funding.provider,
            Funding.amount_fen,
            Funding.stripe_payment_intent_id,
        )
        .where(Funding.status == FundingStatus.CONFIRMED)
        .order_by(Funding.id)
    ):
        books.fundings.setdefault(funding.milestone_id, []).append(funding)
    books.credited = _credited_by_stripe(books.fundings)
    books.card_refunds = {
        row.milestone_id: row
        for row in db.session.execute(
            sa.select(
                CardRefund.id, CardRefund.milestone_id, CardRefund.status, CardRefund.amount_fen
            )
        )
    }


def _load_payouts_and_disputes(books: Books) -> None:
    books.payouts = {
        row.id: row
        for row in db.session.execute(
            sa.select(
                Payout.id,
                Payout.status,
                Payout.amount_fen,
                Payout.provider,
                Payout.contract_id,
                LedgerAccount.code,
            ).join(LedgerAccount, LedgerAccount.id == Payout.account_id)
        )
    }
    books.disputes = {
        row.milestone_id: row
        for row in db.session.execute(sa.select(Dispute.id, Dispute.milestone_id, Dispute.status))
    }
    for row in db.session.execute(
        sa.select(Ruling.dispute_id, Ruling.stage, Ruling.release_fen).order_by(Ruling.id)
    ):
        # The ruling in force: the appeal's if there is one, else the first (Dispute.ruling).
        if row.stage == RulingStage.APPEAL or row.dispute_id not in books.rulings:
            books.rulings[row.dispute_id] = row.release_fen


def _milestones() -> dict[int, MilestoneView]:
    rows = db.session.execute(
        sa.select(
            Milestone.id,
            Milestone.status,
            Milestone.amount_fen,
            Contract.id.label("contract_id"),
            Contract.status.label("contract_status"),
            Contract.center_id,
            Contract.commission_bps,
            Contract.brokerage_bps,
            Contract.center_share_bps,
            Contract.client_fee_bps,
        ).join(Contract, Contract.id == Milestone.contract_id)
    )
    contracts: dict[int, ContractView] = {}
    milestones = {}
    for row in rows:
        contract = contracts.get(row.contract_id)
        if contract is None:
            rates = commission.Rates(
                commission_bps=row.commission_bps,
                brokerage_bps=row.brokerage_bps,
                center_share_bps=row.center_share_bps,
                client_fee_bps=row.client_fee_bps,
            )
            contract = ContractView(row.contract_id, row.contract_status, row.center_id, rates)
            contracts[row.contract_id] = contract
        milestones[row.id] = MilestoneView(row.id, row.status, row.amount_fen, contract)
    return milestones


def _credited_by_stripe(fundings) -> set[int]:
    """The ids of the confirmed card fundings that a processed Stripe payment event names, with
    the funding's amount (the events card.process_event credits escrow from)."""
    card = [f for found in fundings.values() for f in found if f.provider == "stripe"]
    if not card:
        return set()
    by_id = {funding.id: funding for funding in card}
    by_intent = {f.stripe_payment_intent_id: f for f in card if f.stripe_payment_intent_id}
    credited = set()
    for (payload,) in db.session.execute(
        sa.select(StripeEvent.payload).where(
            StripeEvent.status == StripeEventStatus.PROCESSED, StripeEvent.type.in_(PAYMENT_EVENTS)
        )
    ):
        obj = json.loads(payload).get("data", {}).get("object", {})
        if obj.get("object") == "checkout.session" and obj.get("payment_status") != "paid":
            continue
        funding_id = str((obj.get("metadata") or {}).get("funding_id", ""))
        funding = by_id.get(int(funding_id)) if funding_id.isdigit() else None
        if funding is None:
            intent = obj.get("id") if obj.get("object") == "payment_intent" else None
            funding = by_intent.get(intent or obj.get("payment_intent"))
        amount = obj.get("amount_total", obj.get("amount_received"))
        if funding is not None and amount == funding.amount_fen:
            credited.add(funding.id)
    return credited


# --- what the events call for ----------------------------------------------------------------


def _expected_entries(books: Books, problems: list[str]) -> dict[str, Expected]:
    """The entry each business event calls for, by idempotency key; problems of the events
    themselves (two confirmed fundings, a card funding no event credited) go to ``problems``."""
    expected: dict[str, Expected] = {}
    for milestone_id, found in books.fundings.items():
        expected[f"fund:milestone:{milestone_id}"] = _funding(books, found, problems)
    for milestone in books.milestones.values():
        want = _settlement(books, milestone, problems)
        if want is not None:
            expected[f"{want.kind}:milestone:{milestone.id}"] = want
    for payout in books.payouts.values():
        if payout.status == PayoutStatus.SENT:
            expected[f"payout:{payout.id}"] = Expected(
                "payout",
                f"payout {payout.id} (sent, {payout.provider})",
                {
                    payout.code: -payout.amount_fen,
                    _clearing_code(payout.provider): payout.amount_fen,
                },
                payout.contract_id,
            )
    return expected


def _funding(books: Books, found: list, problems: list[str]) -> Expected:
    """The fund entry of a milestone's confirmed funding (there is one at most)."""
    funding = found[0]
    milestone_id = funding.milestone_id
    if len(found) > 1:
        ids = ", ".join(str(f.id) for f in found)
        problems.append(f"milestone {milestone_id} has {len(found)} confirmed fundings ({ids})")
    if funding.provider == "stripe" and funding.id not in books.credited:
        problems.append(
            f"card funding {funding.id} of milestone {milestone_id} is confirmed, but no "
            f"processed Stripe payment event of {funding.amount_fen} credited it"
        )
    milestone = books.milestones.get(milestone_id)
    return Expected(
        "fund",
        f"funding {funding.id} of milestone {milestone_id} (confirmed, {funding.provider})",
        {
            _clearing_code(funding.provider): -funding.amount_fen,
            _escrow_code(milestone_id): funding.amount_fen,
        },
        milestone.contract.id if milestone else None,
        milestone_id,
    )


def _settlement(books: Books, milestone: MilestoneView, problems: list[str]) -> Expected | None:
    """The entry that took a settled milestone's escrow out: its final ruling's, its release's
    or its refund's."""
    dispute = books.disputes.get(milestone.id)
    if dispute is not None and dispute.status == DisputeStatus.FINAL:
        return _ruling(books, milestone, dispute, problems)
    contract = milestone.contract
    if milestone.status == MilestoneStatus.RELEASED:
        event = f"milestone {milestone.id} (released)"
        return Expected("release", event, _release_postings(milestone), contract.id, milestone.id)
    if milestone.status != MilestoneStatus.REFUNDED:
        return None
    due = milestone.due_fen
    card_refund = books.card_refunds.get(milestone.id)
    if card_refund is not None and card_refund.status == CardRefundStatus.SUCCEEDED:
        if card_refund.amount_fen != due:
            problems.append(
                f"card refund {card_refund.id} of milestone {milestone.id} is of "
                f"{card_refund.amount_fen}, but the milestone's due is {due}"
            )
        event = f"card refund {card_refund.id} of milestone {milestone.id}"
        to = chart.clearing("stripe").code
    elif contract.status == ContractStatus.CANCELLED:
        event = f"milestone {milestone.id} (refunded by the cancellation of contract {contract.id})"
        to = chart.payable(contract.id, "client").code
    else:
        problems.append(
            f"milestone {milestone.id} is refunded, but neither a card refund succeeded nor was "
            f"contract {contract.id} cancelled"
        )
        return None
    postings = {_escrow_code(milestone.id): -due, to: due}
    return Expected("refund", event, postings, contract.id, milestone.id)


def _ruling(
    books: Books, milestone: MilestoneView, dispute, problems: list[str]
) -> Expected | None:
    release = books.rulings.get(dispute.id)
    if release is None:
        problems.append(
            f"dispute {dispute.id} of milestone {milestone.id} is final without a ruling"
        )
        return None
    try:
        postings = _ruling_postings(milestone, release)
    except DomainError:
        problems.append(
            f"dispute {dispute.id} releases {release} of milestone {milestone.id}, more than its "
            f"escrow of {milestone.due_fen}"
        )
        return None
    event = (
        f"the final ruling of dispute {dispute.id} (milestone {milestone.id}, {release} released)"
    )
    return Expected("ruling", event, postings, milestone.contract.id, milestone.id)


# --- the postings the services write (the same functions compute them) ----------------------


def _escrow_code(milestone_id: int) -> str:
    return chart.escrow(milestone_id).code


def _clearing_code(provider: str) -> str:
    return chart.clearing(provider).code


def _postings(legs: tuple[settlement.SettlementLeg, ...]) -> Postings:
    return {leg.account.code: leg.amount for leg in legs}


def _release_postings(milestone: MilestoneView) -> Postings:
    """What ``escrow.release_legs`` posts, as codes and amounts (that function creates missing
    accounts: a check must not write)."""
    return _postings(settlement.full_release(milestone).legs)


def _ruling_postings(milestone: MilestoneView, release_fen: Fen) -> Postings:
    """What ``escrow.settle_ruling`` posts for a final ruling releasing ``release_fen``."""
    return _postings(settlement.settlement_legs(milestone, release_fen))


# --- saying why --------------------------------------------------------------------------------


def _why_unexpected(books: Books, key: str) -> str:
    """Why no event calls for an entry with ``key``."""
    match = KEY.fullmatch(key)
    if match is None:
        return "its key names no event that moves money"
    if match["payout"]:
        payout = books.payouts.get(int(match["payout"]))
        if payout is None:
            return f"there is no payout {match['payout']}"
        return f"payout {payout.id} is {payout.status}, not sent"
    milestone = books.milestones.get(int(match["milestone"]))
    if milestone is None:
        return f"there is no milestone {match['milestone']}"
    dispute = books.disputes.get(milestone.id)
    final = dispute is not None and dispute.status == DisputeStatus.FINAL
    kind = match["kind"]
    if kind == "fund":
        return f"milestone {milestone.id} has no confirmed funding"
    if kind == "ruling":
        if dispute is None:
            return f"milestone {milestone.id} has no dispute"
        return f"dispute {dispute.id} of milestone {milestone.id} is {dispute.status}, not final"
    if final:
        return f"milestone {milestone.id} was settled by the ruling of dispute {dispute.id}"
    wanted = MilestoneStatus.RELEASED if kind == "release" else MilestoneStatus.REFUNDED
    if milestone.status == wanted:
        return f"milestone {milestone.id} was refunded by no cancellation nor card refund"
    return f"milestone {milestone.id} is {milestone.status}, not {wanted}"


def _describe(postings: Postings) -> str:
    if not postings:
        return "nothing"
    return ", ".join(f"{code} {amount:+d}" for code, amount in sorted(postings.items()))


def everything():
    """Every problem ``flask ledger check`` reports: the ledger's own invariants, every account
    in the chart of accounts, escrow against the milestones, and every entry against its
    business event (empty when all hold)."""
    return ledger.check() + chart.check() + escrow.check() + check()
