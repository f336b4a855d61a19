"""Properties of the commission split (crowdsource.payments.commission): pure, no database.

For every gross amount and every valid set of rates the parts are non-negative integers that sum
exactly to the gross; each fee is the half-up rounding of gross × rate / 10000, except when the
rates sum to (nearly) 100 % and the rounded fees would exceed the gross, where the excess is
taken back from the fees; what the enterprise funds is the amount plus its half-up client fee.
"""

import math
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crowdsource.payments.commission import BPS, RateError, Rates, amount_due, fee, split

GROSS = st.integers(min_value=0, max_value=10**12)
BPS_VALUES = st.integers(min_value=0, max_value=BPS)


@st.composite
def rates(draw):
    """Commission, brokerage and center share summing to at most 100 %; any client fee."""
    commission = draw(BPS_VALUES)
    brokerage = draw(st.integers(min_value=0, max_value=BPS - commission))
    center_share = draw(st.integers(min_value=0, max_value=BPS - commission - brokerage))
    parts = [commission, brokerage, center_share]
    order = draw(st.permutations(range(3)))  # no rate is always the one squeezed to zero
    commission, brokerage, center_share = (parts[i] for i in order)
    return Rates(
        commission_bps=commission,
        brokerage_bps=brokerage,
        center_share_bps=center_share,
        client_fee_bps=draw(st.integers(min_value=0, max_value=2 * BPS)),
    )


def half_up(amount, bps):
    """The exact rounding half-up of amount × bps / 10000, computed with fractions."""
    return math.floor(Fraction(amount * bps, BPS) + Fraction(1, 2))


FEES = ("commission", "brokerage", "center_share")
RATE_OF = {
    "commission": "commission_bps",
    "brokerage": "brokerage_bps",
    "center_share": "center_share_bps",
}
#: the examples of the Hypothesis profile (tests/plugin.py): 100 by default, 1000 deep
PROPERTY = settings()


@PROPERTY
@given(gross=GROSS, rates=rates())
@example(gross=1, rates=Rates(commission_bps=5000, brokerage_bps=5000))
@example(gross=3, rates=Rates(commission_bps=5000, brokerage_bps=5000))
@example(gross=10**12, rates=Rates(commission_bps=3334, brokerage_bps=3333, center_share_bps=3333))
@example(gross=0, rates=Rates(commission_bps=BPS))
def test_split_parts_are_non_negative_integers_summing_to_the_gross(gross, rates):
    parts = split(gross, rates)
    values = [parts.payee, parts.brokerage, parts.commission, parts.center_share]
    assert all(type(value) is int and value >= 0 for value in values)
    assert sum(values) == gross == parts.gross


@PROPERTY
@given(gross=GROSS, rates=rates())
@example(gross=1, rates=Rates(commission_bps=5000, brokerage_bps=5000))
@example(gross=1, rates=Rates(commission_bps=5000, brokerage_bps=2500, center_share_bps=2500))
@example(gross=5, rates=Rates(commission_bps=3000, brokerage_bps=3000, center_share_bps=4000))
def test_each_fee_is_rounded_half_up_unless_the_fees_would_exceed_the_gross(gross, rates):
    parts = split(gross, rates)
    rounded = {name: half_up(gross, getattr(rates, RATE_OF[name])) for name in FEES}
    taken = {name: getattr(parts, name) for name in FEES}
    excess = sum(rounded.values()) - gross
    if excess <= 0:
        assert taken == rounded
        assert parts.payee == gross - sum(rounded.values())
    else:
        # Only near 100 %: each fee rounds up by half a fen at most, so the fees exceed the gross
        # by at most a fen, and only when the payee's exact share is half a fen or less.
        total_bps = rates.commission_bps + rates.brokerage_bps + rates.center_share_bps
        assert excess == 1
        assert Fraction(gross * (BPS - total_bps), BPS) <= Fraction(1, 2)
        assert parts.payee == 0
        assert all(0 <= taken[name] <= rounded[name] for name in FEES)
        assert sum(rounded[name] - taken[name] for name in FEES) == excess
    exact_payee = Fraction(gross * (BPS - sum(getattr(rates, RATE_OF[n]) for n in FEES)), BPS)
    assert abs(parts.payee - exact_payee) <= Fraction(3, 2)


@PROPERTY
@given(
    amount=st.integers(min_value=0, max_value=10**12),
    client_fee_bps=st.integers(min_value=0, max_value=2 * BPS),
)
def test_amount_due_is_the_amount_plus_the_half_up_client_fee(amount, client_fee_bps):
    rates = Rates(commission_bps=500, client_fee_bps=client_fee_bps)
    due = amount_due(amount, rates)
    assert type(due) is int
    assert due == amount + half_up(amount, client_fee_bps)
    assert fee(amount, client_fee_bps) == half_up(amount, client_fee_bps)


@PROPERTY
@given(
    commission=BPS_VALUES,
    brokerage=BPS_VALUES,
    center_share=BPS_VALUES,
)
def test_rates_above_100_percent_together_are_refused(commission, brokerage, center_share):
    if commission + brokerage + center_share <= BPS:
        Rates(commission_bps=commission, brokerage_bps=brokerage, center_share_bps=center_share)
    else:
        with pytest.raises(RateError):
            Rates(commission_bps=commission, brokerage_bps=brokerage, center_share_bps=center_share)


@PROPERTY
@given(
    name=st.sampled_from(["commission_bps", "brokerage_bps", "center_share_bps", "client_fee_bps"]),
    value=st.one_of(
        st.integers(max_value=-1),
        st.floats(allow_nan=True),
        st.booleans(),
        st.text(max_size=3),
        st.none(),
    ),
)
def test_negative_or_non_integer_rates_are_refused(name, value):
    with pytest.raises(RateError):
        Rates(**{name: value})


@pytest.mark.parametrize("gross", [-1, -(10**12), 1.5, 100.0, "100", None, True])
def test_a_negative_or_non_integer_gross_is_refused(gross):
    with pytest.raises(ValueError):
        split(gross, Rates(commission_bps=500))


def test_a_single_rate_above_100_percent_is_refused():
    with pytest.raises(RateError):
        Rates(commission_bps=BPS + 1)
    with pytest.raises(RateError):
        Rates(center_share_bps=BPS + 1)
    Rates(client_fee_bps=BPS + 1)  # a fee on top of the amount may exceed it


# --- hand-computed examples ------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, bps, expected",
    [
        (100, 50, 1),  # 0.5 rounds up
        (99, 50, 0),  # 0.495 rounds down
        (1, 5000, 1),  # 0.5
        (3, 5000, 2),  # 1.5
        (1, 4999, 0),  # 0.4999
        (12_345, 250, 309),  # 308.625
        (500_000, 500, 25_000),
        (999, 50, 5),  # 4.995
        (10**12, 1, 10**8),
        (0, 5000, 0),
    ],
)
def test_fee_examples(amount, bps, expected):
    assert fee(amount, bps) == expected


@pytest.mark.parametrize(
    "gross, rates, expected",
    [
        # The smoke story: 5 % commission and 15 % brokerage of 500,000 fen.
        (500_000, Rates(commission_bps=500, brokerage_bps=1500), (400_000, 75_000, 25_000, 0)),
        # 3 % of 333 is 9.99 → 10; 1 % center share 3.33 → 3; the payee keeps 320.
        (333, Rates(commission_bps=300, center_share_bps=100), (320, 0, 10, 3)),
        # 1 + 0.5 + 0.5 → 1 + 1 + 1 = 3 out of 2: the excess is taken back, center first.
        (
            2,
            Rates(commission_bps=5000, brokerage_bps=2500, center_share_bps=2500),
            (0, 1, 1, 0),
        ),
        # 1.5 + 1.5 → 2 + 2 = 4 > 3: a fen is taken back from the brokerage.
        (3, Rates(commission_bps=5000, brokerage_bps=5000), (0, 1, 2, 0)),
        # 100 % commission takes everything.
        (1_234_567, Rates(commission_bps=BPS), (0, 0, 1_234_567, 0)),
        # No rates: the payee gets everything.
        (7, Rates(), (7, 0, 0, 0)),
        (0, Rates(commission_bps=500, brokerage_bps=500, center_share_bps=500), (0, 0, 0, 0)),
    ],
)
def test_split_examples(gross, rates, expected):
    parts = split(gross, rates)
    assert (parts.payee, parts.brokerage, parts.commission, parts.center_share) == expected


@pytest.mark.parametrize(
    "amount, client_fee_bps, expected",
    [(500_000, 100, 505_000), (999, 50, 1_004), (100, 50, 101), (99, 50, 99), (1, 0, 1)],
)
def test_amount_due_examples(amount, client_fee_bps, expected):
    assert amount_due(amount, Rates(client_fee_bps=client_fee_bps)) == expected
