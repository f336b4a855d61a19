"""Amounts of money: integer minor units (fen for CNY), parsed from and shown as yuan.

Never floats: input text is parsed with Decimal and must have at most two decimals.
"""

from decimal import Decimal, InvalidOperation
from typing import NewType

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

#: an amount of money in fen (minor units of CNY), signed where it is a posting: a distinct type
#: for the type checker (``Fen(12_500)``), a plain int at run time
Fen = NewType("Fen", int)

CURRENCY = "CNY"
#: the largest amount anything in the marketplace may have: ¥1,000,000,000.00
MAX_FEN = Fen(100_000_000_000)


class MoneyError(ValueError):
    """Text that is not an acceptable amount; the message says why."""


def _decimals(number: Decimal) -> float:
    """How many decimals a number has (infinitely many for infinity and NaN)."""
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) else float("inf")


def parse_yuan(text: str | None, allow_zero: bool = False) -> Fen:
    """Fen for a yuan amount typed by a user ("1,234.5" → 123450); raises MoneyError."""
    cleaned = (text or "").strip().replace(",", "").replace("，", "").lstrip("¥￥")
    if not cleaned:
        raise MoneyError(_l("Enter an amount."))
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise MoneyError(_l("Enter an amount in yuan, e.g. 12500 or 12500.50.")) from None
    if _decimals(amount) > 2:
        raise MoneyError(_l("Use at most two decimals (fen)."))
    if amount < 0:
        raise MoneyError(_l("The amount must be more than zero."))
    # Compared before converting: "1e999999" would take seconds to become an int, or overflow.
    if amount > Decimal(MAX_FEN) / 100:
        raise MoneyError(_l("The amount is too large."))
    fen = Fen(int(amount * 100))
    if fen == 0 and not allow_zero:
        raise MoneyError(_l("The amount must be more than zero."))
    return fen


def fen_to_yuan_text(fen: Fen | None) -> str:
    """The plain yuan text of an amount for a form field (123450 → "1234.50")."""
    if fen is None:
        return ""
    return f"{fen // 100}.{fen % 100:02d}"


def format_money(fen: Fen | None) -> str:
    """An amount in yuan for people: ¥1,234.56 (digits grouped as the locale does)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{format_decimal(Decimal(abs(fen)) / 100, format='#,##0.00')}"


def parse_percent_bps(text: str | None) -> int:
    """Basis points for a percentage typed by a user ("12.5" → 1250); raises MoneyError."""
    cleaned = (text or "").strip().rstrip("%").strip()
    if not cleaned:
        return 0
    try:
        percent = Decimal(cleaned)
    except InvalidOperation:
        raise MoneyError(_l("Enter a percentage, e.g. 10 or 12.5.")) from None
    if _decimals(percent) > 2:
        raise MoneyError(_l("Use at most two decimals."))
    if percent < 0 or percent > 100:
        raise MoneyError(_l("A percentage is between 0 and 100."))
    return int(percent * 100)


def format_bps(bps: int) -> str:
    """Basis points as a percentage for people: 1250 → "12.5%"."""
    percent = Decimal(bps) / 100
    return f"{percent.normalize():f}%"
