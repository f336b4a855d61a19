"""Splitting money by rates in basis points: pure functions, no database, no Flask.

A released gross amount is split into the platform commission, the agency brokerage and the
center share — each rounded half-up on its own — and the payee's remainder, so the parts always
sum exactly to the gross. A client-side fee is added on top of what the enterprise funds.
"""

import dataclasses
from collections.abc import Iterable

from crowdsource.money import Fen

#: basis points in a whole: 10,000 bps = 100 %
BPS = 10_000


class RateError(ValueError):
    """Rates that cannot split an amount (negative, or together above 100 %)."""


@dataclasses.dataclass(frozen=True)
class Rates:
    """The rates a contract settles by (a copy of the policy in force at the award)."""

    commission_bps: int = 0
    brokerage_bps: int = 0
    center_share_bps: int = 0
    client_fee_bps: int = 0

    def __post_init__(self) -> None:
        for name in ("commission_bps", "brokerage_bps", "center_share_bps", "client_fee_bps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise RateError(f"{name} must be a non-negative integer, not {value!r}")
        if self.commission_bps + self.brokerage_bps + self.center_share_bps > BPS:
            raise RateError("commission, brokerage and center share exceed 100 %")


@dataclasses.dataclass(frozen=True)
class Split:
    """The parts of a gross amount; ``payee + brokerage + commission + center_share == gross``."""

    gross: Fen
    payee: Fen
    brokerage: Fen
    commission: Fen
    center_share: Fen


def fee(amount: Fen, bps: int) -> Fen:
    """``amount × bps / 10000``, rounded half-up, in integers only."""
    if amount < 0:
        raise ValueError("amounts to take a fee of are not negative")
    return Fen((amount * bps * 2 + BPS) // (2 * BPS))


def split(gross: Fen, rates: Rates) -> Split:
    """Split ``gross`` (integer minor units, ≥ 0) by ``rates``."""
    if not isinstance(gross, int) or isinstance(gross, bool) or gross < 0:
        raise ValueError(f"gross must be a non-negative integer, not {gross!r}")
    fees = {
        "commission": fee(gross, rates.commission_bps),
        "brokerage": fee(gross, rates.brokerage_bps),
        "center_share": fee(gross, rates.center_share_bps),
    }
    # Fees of rates summing to (nearly) 100 % can round up past the gross by a fen or two:
    # take the excess back from the fees, never from the payee below zero.
    excess = sum(fees.values()) - gross
    for name in ("center_share", "brokerage", "commission"):
        if excess <= 0:
            break
        taken = min(excess, fees[name])
        fees[name] = Fen(fees[name] - taken)
        excess -= taken
    payee = Fen(gross - sum(fees.values()))
    return Split(gross, payee, fees["brokerage"], fees["commission"], fees["center_share"])


def amount_due(amount: Fen, rates: Rates) -> Fen:
    """What the enterprise pays into escrow for a milestone of ``amount``: amount + client fee."""
    return Fen(amount + fee(amount, rates.client_fee_bps))


def split_each(amounts: Iterable[Fen], rates: Rates) -> Split:
    """The total of splitting each amount on its own (milestones are released one by one, so
    their fees round one by one)."""
    parts = [split(amount, rates) for amount in amounts]
    return Split(
        gross=Fen(sum(part.gross for part in parts)),
        payee=Fen(sum(part.payee for part in parts)),
        brokerage=Fen(sum(part.brokerage for part in parts)),
        commission=Fen(sum(part.commission for part in parts)),
        center_share=Fen(sum(part.center_share for part in parts)),
    )
