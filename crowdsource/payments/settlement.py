"""How a milestone's escrow is settled: the legs of the entry that empties it, for any part of
it released (a full release is a ruling that releases everything). Pure: no database.

Of ``release_fen`` released out of the escrowed ``due`` (the milestone's amount plus the
client-side fee), the gross ``release_fen × amount // due`` is split by the contract's rates
(crowdsource.payments.commission) into the payee's part, the agency's brokerage, the platform's
commission and the center's share; the rest of the released part is the client-side fee; what
is not released goes back to the enterprise. Every leg is ≥ 0 but the escrow's, and they sum
to zero.
"""

import dataclasses
from typing import NamedTuple, Protocol

from flask_babel import lazy_gettext as _l

from crowdsource.errors import DomainError
from crowdsource.money import Fen
from crowdsource.payments import chart, commission


class SettledContract(Protocol):
    """What a settlement needs of a contract (a Contract, or a view of one)."""

    @property
    def id(self) -> int: ...
    @property
    def center_id(self) -> int: ...
    @property
    def rates(self) -> commission.Rates: ...


class SettledMilestone(Protocol):
    """What a settlement needs of a milestone (a Milestone, or a view of one)."""

    @property
    def id(self) -> int: ...
    @property
    def amount_fen(self) -> Fen: ...
    @property
    def due_fen(self) -> Fen: ...
    @property
    def contract(self) -> SettledContract: ...


class SettlementLeg(NamedTuple):
    """One posting of a settlement: the account and its signed amount."""

    account: chart.Account
    amount: Fen


@dataclasses.dataclass(frozen=True)
class Settlement:
    """What a settlement moves: ``released + refund == escrowed``, ``released ==
    split.gross + client_fee``."""

    escrowed: Fen
    released: Fen
    #: the released part's share of the client-side fee
    client_fee: Fen
    #: the released gross, split by the contract's rates
    split: commission.Split
    #: what goes back to the enterprise
    refund: Fen
    #: the postings, in a fixed order, zero ones left out (no account is made for them)
    legs: tuple[SettlementLeg, ...]


def settle(milestone: SettledMilestone, release_fen: Fen) -> Settlement:
    """The settlement of a milestone's escrow that releases ``release_fen`` of it (the rest
    goes back to the enterprise). Raises DomainError unless 0 ≤ ``release_fen`` ≤ the escrow."""
    contract = milestone.contract
    due = milestone.due_fen
    if not 0 <= release_fen <= due:
        raise DomainError(_l("The amounts must lie between zero and the disputed escrow."))
    released = release_fen
    gross = Fen(released * milestone.amount_fen // due) if due else Fen(0)
    parts = commission.split(gross, contract.rates)
    client_fee = Fen(released - gross)
    refund = Fen(due - released)
    legs = [
        SettlementLeg(chart.escrow(milestone.id), Fen(-due)),
        SettlementLeg(chart.payable(contract.id, "payee"), parts.payee),
        SettlementLeg(chart.payable(contract.id, "agency"), parts.brokerage),
        SettlementLeg(chart.commission_revenue(), parts.commission),
        SettlementLeg(chart.client_fee_revenue(), client_fee),
        SettlementLeg(chart.center_revenue(contract.center_id), parts.center_share),
        SettlementLeg(chart.payable(contract.id, "client"), refund),
    ]
    return Settlement(
        escrowed=due,
        released=released,
        client_fee=client_fee,
        split=parts,
        refund=refund,
        legs=tuple(leg for leg in legs if leg.amount),
    )


def settlement_legs(milestone: SettledMilestone, release_fen: Fen) -> tuple[SettlementLeg, ...]:
    """The postings that settle a milestone's escrow releasing ``release_fen`` of it."""
    return settle(milestone, release_fen).legs


def full_release(milestone: SettledMilestone) -> Settlement:
    """The settlement that releases the whole escrow (acceptance, the end of the review
    period)."""
    return settle(milestone, milestone.due_fen)
