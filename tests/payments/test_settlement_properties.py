"""Properties of a settlement's legs (crowdsource.payments.settlement): pure, no database.

For every milestone amount, every valid set of rates and every released part of the escrow, the
legs take exactly the escrowed amount out of escrow and put it, in non-negative parts, into the
payee's, the agency's, the platform's, the center's and the enterprise's accounts; a full
release is the ruling that releases everything; and both are booked as the release and the
ruling were booked before there was one function for both.
"""

import dataclasses

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crowdsource.errors import DomainError
from crowdsource.payments import chart, commission
from crowdsource.payments.commission import BPS, Rates
from crowdsource.payments.settlement import full_release, settle, settlement_legs
from tests.helpers import examples

PROPERTY = settings(max_examples=examples(), deadline=None, database=None)
AMOUNTS = st.integers(min_value=1, max_value=10**11)


@st.composite
def rates(draw):
    """Commission, brokerage and center share summing to at most 100 %; any client fee."""
    commission_bps = draw(st.integers(min_value=0, max_value=BPS))
    brokerage = draw(st.integers(min_value=0, max_value=BPS - commission_bps))
    center_share = draw(st.integers(min_value=0, max_value=BPS - commission_bps - brokerage))
    parts = draw(st.permutations([commission_bps, brokerage, center_share]))
    return Rates(*parts, client_fee_bps=draw(st.integers(min_value=0, max_value=2 * BPS)))


@dataclasses.dataclass(frozen=True)
class Contract:
    id: int
    center_id: int
    rates: Rates


@dataclasses.dataclass(frozen=True)
class Milestone:
    id: int
    amount_fen: int
    contract: Contract

    @property
    def due_fen(self):
        return commission.amount_due(self.amount_fen, self.contract.rates)


@st.composite
def milestones(draw):
    contract = Contract(
        draw(st.integers(min_value=1, max_value=10**6)),
        draw(st.integers(min_value=1, max_value=100)),
        draw(rates()),
    )
    return Milestone(draw(st.integers(min_value=1, max_value=10**9)), draw(AMOUNTS), contract)


@st.composite
def milestone_and_release(draw):
    milestone = draw(milestones())
    due = milestone.due_fen
    release = draw(st.one_of(st.just(0), st.just(due), st.integers(min_value=0, max_value=due)))
    return milestone, release


def by_code(legs):
    return {leg.account.code: leg.amount for leg in legs}


def released_as_before(milestone):
    """The release legs as escrow.release_legs wrote them before settlements were one function."""
    contract, due = milestone.contract, milestone.due_fen
    parts = commission.split(milestone.amount_fen, contract.rates)
    legs = {
        f"escrow:milestone:{milestone.id}": -due,
        f"payable:contract:{contract.id}:payee": parts.payee,
        f"payable:contract:{contract.id}:agency": parts.brokerage,
        "revenue:commission": parts.commission,
        "revenue:client-fee": due - milestone.amount_fen,
        f"revenue:center:{contract.center_id}": parts.center_share,
    }
    return {code: amount for code, amount in legs.items() if amount}


def ruled_as_before(milestone, release):
    """The ruling legs as escrow.settle_ruling wrote them before (with ruling_parts)."""
    contract, due = milestone.contract, milestone.due_fen
    gross = release * milestone.amount_fen // due
    parts = commission.split(gross, contract.rates)
    legs = {
        f"escrow:milestone:{milestone.id}": -due,
        f"payable:contract:{contract.id}:payee": parts.payee,
        f"payable:contract:{contract.id}:agency": parts.brokerage,
        "revenue:commission": parts.commission,
        "revenue:client-fee": release - gross,
        f"revenue:center:{contract.center_id}": parts.center_share,
        f"payable:contract:{contract.id}:client": due - release,
    }
    return {code: amount for code, amount in legs.items() if amount}


@PROPERTY
@given(case=milestone_and_release())
@example(case=(Milestone(1, 1, Contract(1, 1, Rates(client_fee_bps=20_000))), 2))
@example(case=(Milestone(1, 3, Contract(1, 1, Rates(5000, 5000, 0, 10_000))), 1))
def test_the_legs_take_the_escrow_out_and_put_it_in_non_negative_parts(case):
    milestone, release = case
    legs = settlement_legs(milestone, release)

    assert sum(leg.amount for leg in legs) == 0
    escrow_legs = [leg for leg in legs if leg.account == chart.escrow(milestone.id)]
    assert [leg.amount for leg in escrow_legs] == [-milestone.due_fen]
    others = [leg for leg in legs if leg not in escrow_legs]
    assert all(leg.amount > 0 for leg in others)
    assert sum(leg.amount for leg in others) == milestone.due_fen
    assert len({leg.account for leg in legs}) == len(legs)
    assert all(chart.parse(leg.account.code) == leg.account for leg in legs)


@PROPERTY
@given(case=milestone_and_release())
def test_the_released_part_and_the_refund_make_the_escrow(case):
    milestone, release = case
    settled = settle(milestone, release)

    assert settled.escrowed == milestone.due_fen
    assert settled.released + settled.refund == settled.escrowed
    assert settled.released == release
    assert settled.split.gross + settled.client_fee == settled.released
    assert min(settled.client_fee, settled.refund, settled.split.gross) >= 0
    refund = by_code(settled.legs).get(f"payable:contract:{milestone.contract.id}:client", 0)
    assert refund == settled.refund


@PROPERTY
@given(milestone=milestones())
def test_a_full_release_is_the_ruling_that_releases_everything(milestone):
    assert full_release(milestone) == settle(milestone, milestone.due_fen)
    assert full_release(milestone).refund == 0
    assert by_code(full_release(milestone).legs) == released_as_before(milestone)


@PROPERTY
@given(case=milestone_and_release())
def test_a_ruling_is_booked_as_it_was_before_there_was_one_function(case):
    milestone, release = case
    assert by_code(settlement_legs(milestone, release)) == ruled_as_before(milestone, release)


@pytest.mark.parametrize("release", [-1, 101_001])
def test_a_release_outside_the_escrow_is_refused(release):
    milestone = Milestone(1, 100_000, Contract(1, 1, Rates(client_fee_bps=100)))
    with pytest.raises(DomainError, match="between zero and the disputed escrow"):
        settle(milestone, release)


def test_the_legs_keep_the_order_the_entries_were_posted_in():
    milestone = Milestone(4, 100_000, Contract(2, 3, Rates(500, 1000, 200, 100)))
    legs = settlement_legs(milestone, 50_000)
    assert [leg.account.code for leg in legs] == [
        "escrow:milestone:4",
        "payable:contract:2:payee",
        "payable:contract:2:agency",
        "revenue:commission",
        "revenue:client-fee",
        "revenue:center:3",
        "payable:contract:2:client",
    ]
