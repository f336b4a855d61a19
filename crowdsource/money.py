"""Amounts of money: integer minor units (fen for CNY), parsed from and shown as yuan.

Never floats: input text is parsed with Decimal and must have at most two decimals.
"""

import re
from decimal import Decimal
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


#: full-width digits, comma, full stop and percent sign (typed with a Chinese input method) as
#: the ASCII ones
FULL_WIDTH = str.maketrans("０１２３４５６７８９，．％", "0123456789,.%")
#: an amount as people write it: digits, grouped in threes by commas or not at all, with
#: decimals or not ("12500", "12,500.50", ".5"); a minus only to say that it is not allowed
AMOUNT = re.compile(r"-?(?:[1-9][0-9]{0,2}(?:,[0-9]{3})+|[0-9]+)?(?:\.[0-9]*)?")
#: a number with separators in the wrong places ("1,0,0", "10,00", "1_000", ",100")
MISGROUPED = re.compile(r"-?[0-9,_]*[,_][0-9,_]*(?:\.[0-9]*)?")


def _number(text: str) -> Decimal | None:
    """The number ``text`` writes in the AMOUNT grammar, or None."""
    if not AMOUNT.fullmatch(text) or not any(c.isdigit() for c in text):
        return None
    return Decimal(text.replace(",", ""))


def parse_yuan(text: str | None, allow_zero: bool = False) -> Fen:
    """Fen for a yuan amount typed by a user ("1,234.5" → 123450); raises MoneyError.

    Thousands are grouped by commas in threes or not at all; full-width digits and commas and
    a leading ¥ (or ￥) are accepted as typed with a Chinese input method."""
    cleaned = (text or "").strip().translate(FULL_WIDTH)
    if cleaned[:1] in ("¥", "￥"):
        cleaned = cleaned[1:].lstrip()
    if not cleaned:
        raise MoneyError(_l("Enter an amount."))
    amount = _number(cleaned)
    if amount is None:
        if MISGROUPED.fullmatch(cleaned):
            raise MoneyError(
                _l("Group the digits in threes with commas, e.g. 12,500 or 1,250,000.50.")
            )
        raise MoneyError(_l("Enter an amount in yuan, e.g. 12500 or 12500.50."))
    if _decimals(amount) > 2:
        raise MoneyError(_l("Use at most two decimals (fen)."))
    if amount < 0:
        raise MoneyError(_l("The amount must be more than zero."))
    # Compared before converting: a number of many digits would take long to become an int.
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
    """Basis points for a percentage typed by a user ("12.5" → 1250); raises MoneyError.
    Digits and decimals only (no separators: a percentage is at most 100), full-width ones too.
    """
    cleaned = (text or "").strip().translate(FULL_WIDTH).removesuffix("%").strip()
    if not cleaned:
        return 0
    percent = _number(cleaned) if "," not in cleaned else None
    if percent is None:
        raise MoneyError(_l("Enter a percentage, e.g. 10 or 12.5."))
    if _decimals(percent) > 2:
        raise MoneyError(_l("Use at most two decimals."))
    if percent < 0 or percent > 100:
        raise MoneyError(_l("A percentage is between 0 and 100."))
    return int(percent * 100)


def format_bps(bps: int) -> str:
    """Basis points as a percentage for people: 1250 → "12.5%"."""
    percent = Decimal(bps) / 100
    return f"{percent.normalize():f}%"
